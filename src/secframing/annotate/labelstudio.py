"""Label Studio interop: export sentences as pre-annotated tasks, import Label Studio exports back
into stand-off annotations.

Tasks carry the sentence text (Label Studio needs it) plus its stand-off coordinates and sha1; the
import checks the sha1 so an edited task cannot silently point at other text. Exported task files hold
third-party text: write them outside the repository (``reports/``, ignored by git).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from secframing.annotate.standoff import AnnotationError, sha1_text
from secframing.labels import DEVICES, FRAMING_LABELS, GUIDELINE_VERSION, SENTIMENT_LABELS
from secframing.models.base import Prediction

LABEL_CONFIG = f"""<View style="direction: rtl">
  <Header value="$article_id ($field)"/>
  <Text name="context" value="$context" granularity="word"/>
  <Text name="text" value="$text"/>
  <Choices name="framing" toName="text" choice="single-radio" required="true">
    {''.join(f'<Choice value="{x}"/>' for x in FRAMING_LABELS)}
  </Choices>
  <Choices name="devices" toName="text" choice="multiple" visibleWhen="choice-selected" whenTagName="framing" whenChoiceValue="promotional">
    {''.join(f'<Choice value="{x}"/>' for x in DEVICES)}
  </Choices>
  <Choices name="sentiment" toName="text" choice="single-radio" required="true">
    {''.join(f'<Choice value="{x}"/>' for x in SENTIMENT_LABELS)}
  </Choices>
</View>
"""

COORDS = ("unit", "article_id", "field", "start", "end", "sha1", "stratum")


def _choices(name: str, values: Sequence[str]) -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": list(values)}}


def to_tasks(units: Sequence[dict[str, Any]], predictions: Sequence[Prediction] | None = None,
             model_version: str = "") -> list[dict[str, Any]]:
    """Label Studio tasks for sentence units (``text`` plus stand-off coordinates), pre-annotated with
    a model's label, devices and score when ``predictions`` are given."""
    tasks = []
    for i, u in enumerate(units):
        if sha1_text(u["text"]) != u.get("sha1", sha1_text(u["text"])):
            raise AnnotationError(f"unit {u.get('unit', i)}: text does not match its sha1")
        data = {k: u[k] for k in COORDS if k in u}
        data.update({"text": u["text"], "context": u.get("context", ""), "sha1": sha1_text(u["text"])})
        task: dict[str, Any] = {"id": i + 1, "data": data}
        if predictions is not None:
            p = predictions[i]
            result = [_choices("framing", [p.label])]
            if p.devices:
                result.append(_choices("devices", p.devices))
            task["predictions"] = [{"model_version": model_version, "score": round(p.score, 4), "result": result}]
        tasks.append(task)
    return tasks


def write_project(path: str | Path, tasks: list[dict[str, Any]]) -> Path:
    """Write ``tasks.json`` and the matching ``label_config.xml`` into folder ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    (path / "label_config.xml").write_text(LABEL_CONFIG, encoding="utf-8")
    return path


def _annotator(ann: dict[str, Any]) -> str:
    who = ann.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return f"labelstudio:{who}" if who is not None else "labelstudio:unknown"


def from_export(export: list[dict[str, Any]], guideline: str = GUIDELINE_VERSION, source: str = "export") -> list[dict[str, Any]]:
    """Stand-off records (one per task and annotation) from a Label Studio JSON export. Cancelled
    annotations are skipped; a task whose text no longer matches its sha1 is an error."""
    records = []
    for task in export:
        data = task.get("data", {})
        where = f"{source}: task {task.get('id')}"
        missing = [k for k in ("article_id", "start", "end", "text") if k not in data]
        if missing:
            raise AnnotationError(f"{where}: data lacks {', '.join(missing)} (was it exported by secframing?)")
        if sha1_text(data["text"]) != data.get("sha1"):
            raise AnnotationError(f"{where}: text does not match its sha1")
        for ann in task.get("annotations", []):
            if ann.get("was_cancelled"):
                continue
            values: dict[str, list[str]] = {}
            for r in ann.get("result", []):
                if r.get("type") == "choices":
                    values[r["from_name"]] = r["value"]["choices"]
            framing = (values.get("framing") or [None])[0]
            sentiment = (values.get("sentiment") or ["neutral"])[0]
            if framing not in FRAMING_LABELS:
                raise AnnotationError(f"{where}: framing {framing!r} not in {list(FRAMING_LABELS)}")
            devices = [d for d in DEVICES if d in values.get("devices", [])] if framing == "promotional" else []
            created = ann.get("created_at") or dt.date.today().isoformat()
            records.append({**{k: data[k] for k in COORDS if k in data}, "field": data.get("field", "text"),
                            "sha1": data["sha1"], "framing": framing, "devices": devices, "sentiment": sentiment,
                            "annotator": _annotator(ann), "guideline": guideline, "created": str(created)[:10],
                            "labelstudio_task": task.get("id")})
    return records


def read_export(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{path}: not a Label Studio JSON export: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, list):
        raise AnnotationError(f"{path}: expected a JSON list of tasks")
    return from_export(data, source=str(path))
