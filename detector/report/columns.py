"""The column order of every report table (flags.csv, members.csv, pairs.csv, themes.csv ...): one
place, read by the CSV writer, the HTML page and the findings assembly."""

FLAG_COLUMNS = [
    "rank", "narrative_id", "label", "q_value", "evidence", "cross_edges", "p_value", "score", "direction",
    "lag_hours", "leader_outlet", "best_similarity", "mean_top_similarity", "best_pair_lag_hours",
    "best_cn_id", "best_cn_outlet", "best_cn_published_at", "best_cn_title", "best_cn_url",
    "best_ru_id", "best_ru_outlet", "best_ru_published_at", "best_ru_title", "best_ru_url",
    "first_cn_id", "first_cn_outlet", "first_cn_published_at", "first_cn_title", "first_cn_url",
    "first_ru_id", "first_ru_outlet", "first_ru_published_at", "first_ru_title", "first_ru_url",
    "n_articles", "n_cn", "n_ru", "outlets_cn", "outlets_ru", "languages",
    "control_coverage", "control_share", "control_outlets", "burstiness", "path", "channel_path",
    "language_path", "first_seen", "last_seen", "theme_id",
]  # fmt: skip
# Watched narratives a flag's members hit (docs/watchlists.md): only in runs with [watch] watchlist.
WATCHED_COLUMN = "watched"
# Analysts' verdicts (docs/review.md), last: only narrative_id and verdict* are read back on import.
VERDICT_COLUMNS = ["new", "verdict", "verdict_note", "verdict_by", "verdict_at", "review"]
MEMBER_COLUMNS = [
    "narrative_id", "id", "outlet", "bloc", "language", "channel_type", "published_at", "title", "url",
    "similarity_to_centre", "membership", "rescued", "passage", "passage_start", "passage_end",
]  # fmt: skip
PAIR_COLUMNS = [
    "narrative_id", "pair_rank", "link_type", "similarity", "lag_hours",
    "cn_id", "cn_outlet", "cn_language", "cn_channel_type", "cn_published_at", "cn_title", "cn_url",
    "ru_id", "ru_outlet", "ru_language", "ru_channel_type", "ru_published_at", "ru_title", "ru_url",
    "cn_passage", "cn_passage_start", "cn_passage_end", "ru_passage", "ru_passage_start", "ru_passage_end",
]  # fmt: skip
# The theme stage's reports (docs/reports.md "themes.csv"; the contract of issue #26).
THEME_COLUMNS = [
    "theme_id", "flagged", "q_value", "p_value", "null_note", "label_en", "label_ru", "label_zh",
    "articles", "articles_cn", "articles_ru", "articles_control", "outlets_cn", "outlets_ru",
    "n_outlets_cn", "n_outlets_ru", "first_cn_published_at", "first_ru_published_at", "leader", "lag_hours",
    "xcorr_lag_days", "xcorr_peak", "burst_days", "central_cn_id", "central_cn_title", "central_ru_id",
    "central_ru_title", "period_start", "period_end", "verdict", "verdict_note", "verdict_by", "verdict_at",
]  # fmt: skip
THEME_MEMBER_COLUMNS = [
    "theme_id", "id", "outlet", "bloc", "language", "published_at", "title", "url", "centrality",
    "passage_start", "passage_end",
]  # fmt: skip
THEME_DAILY_COLUMNS = ["theme_id", "day", "bloc", "articles"]
