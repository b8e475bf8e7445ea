"""Language tags: BCP 47 tags reduced to the primary language, and the codes we know.

Feeds write languages every way a system can: ``zh-CN``, ``zh_Hans``, ``zh-TW``, ``ru-RU``,
``en-GB``, ``RUS``. Every setting keyed by language (``[score] min_similarity_by_language_pair``)
and every report column compares plain ISO 639 primary codes, so ingest and the outlet registry
reduce a tag to its primary language subtag (RFC 5646 section 2.2.1), lower-cased, in its shortest
ISO 639 form (``rus`` -> ``ru``). A well-formed primary we do not know is kept as it is; a tag
that does not start with a 2-3 letter subtag (``russian``, ``x-private``) is refused.

Code lists: ISO 639-1 and ISO 639-2 as shipped by Debian's ``iso-codes`` 4.15.0
(``/usr/share/iso-codes/json/iso_639-2.json``, maintained from the ISO 639-2 Registration
Authority at the Library of Congress), plus the ISO 639-3 codes of Chinese varieties met in feeds.
"""

from __future__ import annotations


def _words(table: str) -> list[str]:
    """A code table written as words (it reads best so)."""
    return table.split()


# ISO 639-1: the two-letter codes.
ISO_639_1 = frozenset(
    _words("""
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da
    de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz
    ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln
    lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi
    pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti
    tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    """)
)
# ISO 639-2 (terminology and bibliographic) codes of languages that have an ISO 639-1 code.
TO_ISO_639_1 = dict(
    pair.split(":")
    for pair in _words("""
    aar:aa abk:ab afr:af aka:ak alb:sq amh:am ara:ar arg:an arm:hy asm:as ava:av ave:ae aym:ay
    aze:az bak:ba bam:bm baq:eu bel:be ben:bn bih:bh bis:bi bod:bo bos:bs bre:br bul:bg bur:my
    cat:ca ces:cs cha:ch che:ce chi:zh chu:cu chv:cv cor:kw cos:co cre:cr cym:cy cze:cs dan:da
    deu:de div:dv dut:nl dzo:dz ell:el eng:en epo:eo est:et eus:eu ewe:ee fao:fo fas:fa fij:fj
    fin:fi fra:fr fre:fr fry:fy ful:ff geo:ka ger:de gla:gd gle:ga glg:gl glv:gv gre:el grn:gn
    guj:gu hat:ht hau:ha heb:he her:hz hin:hi hmo:ho hrv:hr hun:hu hye:hy ibo:ig ice:is ido:io
    iii:ii iku:iu ile:ie ina:ia ind:id ipk:ik isl:is ita:it jav:jv jpn:ja kal:kl kan:kn kas:ks
    kat:ka kau:kr kaz:kk khm:km kik:ki kin:rw kir:ky kom:kv kon:kg kor:ko kua:kj kur:ku lao:lo
    lat:la lav:lv lim:li lin:ln lit:lt ltz:lb lub:lu lug:lg mac:mk mah:mh mal:ml mao:mi mar:mr
    may:ms mkd:mk mlg:mg mlt:mt mon:mn mri:mi msa:ms mya:my nau:na nav:nv nbl:nr nde:nd ndo:ng
    nep:ne nld:nl nno:nn nob:nb nor:no nya:ny oci:oc oji:oj ori:or orm:om oss:os pan:pa per:fa
    pli:pi pol:pl por:pt pus:ps que:qu roh:rm ron:ro rum:ro run:rn rus:ru sag:sg san:sa sin:si
    slk:sk slo:sk slv:sl sme:se smo:sm sna:sn snd:sd som:so sot:st spa:es sqi:sq srd:sc srp:sr
    ssw:ss sun:su swa:sw swe:sv tah:ty tam:ta tat:tt tel:te tgk:tg tgl:tl tha:th tib:bo tir:ti
    ton:to tsn:tn tso:ts tuk:tk tur:tr twi:tw uig:ug ukr:uk urd:ur uzb:uz ven:ve vie:vi vol:vo
    wel:cy wln:wa wol:wo xho:xh yid:yi yor:yo zha:za zho:zh zul:zu
    """)
)
TO_ISO_639_1["cmn"] = "zh"  # Mandarin (ISO 639-3): what feeds mean by zh
# Three-letter codes of languages without a two-letter one: ISO 639-2, and ISO 639-3 Chinese varieties.
ISO_639_3_ONLY = frozenset(
    _words("""
    ace ach ada ady afa afh ain akk ale alg alt ang anp apa arc arn arp art arw ast ath aus awa bad
    bai bal ban bas bat bej bem ber bho bik bin bla bnt bra btk bua bug byn cad cai car cau ceb cel
    chb chg chk chm chn cho chp chr chy cmc cnr cop cpe cpf cpp crh crp csb cus dak dar day del den
    dgr din doi dra dsb dua dum dyu efi egy eka elx enm ewo fan fat fil fiu fon frm fro frr frs fur
    gaa gay gba gem gez gil gmh goh gon gor got grb grc gsw gwi hai haw hil him hit hmn hsb hup iba
    ijo ilo inc ine inh ira iro jbo jpr jrb kaa kab kac kam kar kaw kbd kha khi kho kmb kok kos kpe
    krc krl kro kru kum kut lad lah lam lez lol loz lua lui lun luo lus mad mag mai mak man map mas
    mdf mdr men mga mic min mis mkh mnc mni mno moh mos mul mun mus mwl mwr myn myv nah nai nap nds
    new nia nic niu nog non nqo nso nub nwc nym nyn nyo nzi osa ota oto paa pag pal pam pap pau peo
    phi phn pon pra pro raj rap rar roa rom rup sad sah sai sal sam sas sat scn sco sel sem sga sgn
    shn sid sio sit sla sma smi smj smn sms snk sog son srn srr ssa suk sus sux syc syr tai tem ter
    tet tig tiv tkl tlh tli tmh tog tpi tsi tum tup tut tvl tyv udm uga umb und vai vot wak wal war
    was wen xal yao yap ypk zap zbl zen zgh znd zun zxx zza
    yue nan wuu hak
    """)
)
KNOWN = ISO_639_1 | ISO_639_3_ONLY


def primary_language(tag: str) -> str:
    """The primary language of a BCP 47 tag: ``zh-CN``, ``zh_Hans``, ``ZH-tw`` -> ``zh``;
    ``ru-RU`` -> ``ru``; ``en-GB`` -> ``en``; ``rus`` -> ``ru``; ``yue-HK`` -> ``yue``.

    Raises :class:`ValueError` (with what to write instead) when the tag does not start with a
    2-3 letter language subtag.
    """
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    if not (2 <= len(primary) <= 3 and primary.isascii() and primary.isalpha()):
        raise ValueError(
            f"{tag!r} is not a BCP 47 language tag; write an ISO 639 code such as ru, zh or en "
            "(zh-CN, ru-RU are read as zh, ru)"
        )
    return TO_ISO_639_1.get(primary, primary)


def is_known(code: str) -> bool:
    """Whether ``code`` is a canonical ISO 639 code (``ru``, ``yue``; not ``rus`` or ``RU``)."""
    return code in KNOWN or code == "und"


def canonical_pair(key: str) -> str:
    """The canonical form of a language-pair key: two known codes, shortest form, lower case,
    sorted and joined by ``-`` (``"zh-ru"`` -> ``"ru-zh"``, ``"RU_zh-CN"`` is not a pair).

    Raises :class:`ValueError` saying why ``key`` cannot be read as a pair.
    """
    parts = key.replace("_", "-").split("-")
    if len(parts) != 2:
        raise ValueError(f"{key!r} is not two language codes joined by '-'")
    codes = []
    for part in parts:
        code = primary_language(part)
        if not is_known(code):
            raise ValueError(f"{part!r} in {key!r} is not an ISO 639 language code")
        codes.append(code)
    return "-".join(sorted(codes))


def loose_primary(tag: str) -> str:
    """:func:`primary_language`, or the tag lower-cased when it is not one (rows a store kept
    from before tags were checked), ``und`` when empty."""
    try:
        return primary_language(tag) if tag else "und"
    except ValueError:
        return tag.lower()
