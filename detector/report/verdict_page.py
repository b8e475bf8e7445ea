"""The review controls of ``report.html`` (docs/review.md): set a verdict and a note on each
flagged narrative, filter by verdict and by ``new``, and save the edited verdicts as a CSV that
``detector verdicts import`` reads. No server: the CSV is a download the page makes itself.

The script is part of the page's one script (so the Content-Security-Policy still allows exactly
one, by hash). It turns the summary table's ``verdict`` and ``verdict_note`` cells into a select
and a text box; each keeps a hidden copy of its value as text, so the page's sort and text filter
see the verdict as they see any cell. A saved cell that starts like a formula gets the same
``'`` our CSVs give it (:mod:`detector.report.safety`); the import takes it off again.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

VERDICT_STYLE = """
#review select,#review input{font:inherit}#flags td.edit{white-space:normal;min-width:9em}
#flags td.edit input{width:14em}#flags tr.changed td.edit{background:#fff3a0}
"""

VERDICT_SCRIPT = """
(() => {
  const table = document.getElementById("flags"), save = document.getElementById("verdict-save");
  if (!table || !save) return;
  const heads = Array.from(table.tHead.rows[0].cells, (th) => th.textContent.trim());
  const at = (name) => heads.indexOf(name);
  const [iId, iV, iNote, iBy, iAt, iNew] =
    ["narrative_id", "verdict", "verdict_note", "verdict_by", "verdict_at", "new"].map(at);
  if (iId < 0 || iV < 0 || iNote < 0) return;
  const rows = Array.from(table.tBodies[0].rows), state = new Map();
  const who = document.getElementById("verdict-by"), shown = document.getElementById("verdict-filter");
  const fresh = document.getElementById("new-filter"), filter = document.getElementById("filter");
  const editor = (cell, make) => {
    const text = document.createElement("span"), control = make(cell.textContent.trim());
    text.hidden = true;
    text.textContent = control.value;
    cell.textContent = "";
    cell.classList.add("edit");
    cell.append(text, control);
    return [text, control];
  };
  const choice = (value) => {
    const select = document.createElement("select");
    for (const v of ["", "confirmed", "dismissed", "unsure"]) {
      const option = document.createElement("option");
      option.value = v;
      option.label = v || "—";  // a label, not text: the row's text holds the value only
      select.append(option);
    }
    select.value = value;
    return select;
  };
  const box = (value) => {
    const input = document.createElement("input");
    input.value = value;
    input.placeholder = "note";
    return input;
  };
  for (const row of rows) {
    const [vText, verdict] = editor(row.cells[iV], choice), [nText, note] = editor(row.cells[iNote], box);
    const was = {verdict: verdict.value, note: note.value, by: iBy < 0 ? "" : row.cells[iBy].textContent,
                 at: iAt < 0 ? "" : row.cells[iAt].textContent.trim()};
    state.set(row, {verdict, note, was});
    const edited = () => {
      vText.textContent = verdict.value;
      nText.textContent = note.value;
      row.classList.toggle("changed", verdict.value !== was.verdict || note.value !== was.note);
      row.dataset.verdict = verdict.value;
    };
    verdict.addEventListener("change", edited);
    note.addEventListener("input", edited);
    row.dataset.verdict = verdict.value;
  }
  const refilter = () => {
    for (const row of rows) {
      const isNew = iNew >= 0 && row.cells[iNew].textContent.trim() === "True";
      const okVerdict = shown.value === "any" || (row.dataset.verdict || "none") === shown.value;
      const okNew = fresh.value === "any" || (fresh.value === "new") === isNew;
      row.classList.toggle("off", !(okVerdict && okNew));
    }
    filter.dispatchEvent(new Event("input"));
  };
  shown.addEventListener("change", refilter);
  fresh.addEventListener("change", refilter);
  const cell = (value) => {
    let text = String(value);
    if (/^[=+\\-@\\t\\r]/.test(text)) text = "'" + text;
    return /[",;\\r\\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  };
  save.addEventListener("click", () => {
    const now = new Date().toISOString().slice(0, 19) + "Z", run = save.dataset.run;
    const lines = [["run_id", "narrative_id", "verdict", "verdict_note", "verdict_by", "verdict_at"]];
    for (const row of rows) {
      const {verdict, note, was} = state.get(row);
      const changed = verdict.value !== was.verdict || note.value !== was.note;
      if (!verdict.value && !was.verdict) continue;
      const value = verdict.value || "clear";
      lines.push([run, row.cells[iId].textContent.trim(), value, note.value,
                  changed ? who.value.trim() : was.by, changed ? now : was.at]);
    }
    const text = "\\ufeff" + lines.map((line) => line.map(cell).join(",")).join("\\r\\n") + "\\r\\n";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type: "text/csv;charset=utf-8"}));
    link.download = `verdicts-${run}.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    const saved = document.getElementById("verdict-saved");
    saved.textContent = `${lines.length - 1} verdicts saved as ${link.download}`;
  });
})();
"""


def verdict_controls(flags: pd.DataFrame, manifest: dict[str, Any]) -> str:
    """The review bar above the summary (only when the flags carry verdict columns)."""
    if "verdict" not in flags.columns:
        return ""
    run = html.escape(str(manifest.get("run_id", "")))
    values = ("any", "none", "confirmed", "dismissed", "unsure")
    options = "".join(f'<option value="{v}">{v}</option>' for v in values)
    news = (("any", "all flags"), ("new", "new in this run"), ("seen", "flagged before"))
    new_options = "".join(f'<option value="{v}">{text}</option>' for v, text in news)
    return (
        '<div id="review"><h2>Review</h2><p>Set a verdict (and a note) in the table, then save them and '
        "import the file: <code>detector verdicts import verdicts-RUN.csv --store STORE</code>.</p><p>"
        f'<label>Show verdict <select id="verdict-filter">{options}</select></label> '
        f'<label>Show <select id="new-filter">{new_options}</select></label> '
        '<label>Your name <input id="verdict-by"></label> '
        f'<button id="verdict-save" type="button" data-run="{run}">Save verdicts (CSV)</button> '
        '<span id="verdict-saved" class="muted"></span></p></div>'
    )


def shown_q_values(flags: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """``flags`` with a q-value the run's decoys cannot tell from 0 shown as ``< x`` (x the
    resolution the manifest's ``null`` gives), not as 0, which would read as certainty."""
    resolution = (manifest.get("null") or {}).get("q_resolution")
    if "q_value" not in flags.columns or not resolution:
        return flags
    shown = [f"< {resolution:.2g}" if isinstance(q, float) and not math.isnan(q) and q == 0 else q
             for q in flags["q_value"]]  # fmt: skip
    return flags.assign(q_value=pd.Series(shown, index=flags.index, dtype=object))
