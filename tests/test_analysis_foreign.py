"""The analysis of logs whose scores are not verdicts: a plain message instead of a table of nan, and --label-map.

Two real logs of the foreign-style task (tests/fixtures/suites/foreign_suite.py) on mockllm/model: the task run
plainly with 4 epochs (its own scorer only, grade words), and the same task wrapped in the grid (its scorer, our
offline judge and the live mapped verdict).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval, task_with
from inspect_ai.model import GenerateConfig, ModelOutput, get_model

from refusal_stability import cli
from refusal_stability.analysis import load, tidy
from refusal_stability.analysis.scorer_values import drop_judges_without_verdicts
from refusal_stability.scorers.offline import OFFLINE_JUDGE_VERSION
from refusal_stability.tasks.wrap import load_task, stability_of
from refusal_stability.verdict_maps import mapped_judge_name

REPO = Path(__file__).resolve().parents[1]
FOREIGN_SPEC = f"{REPO / 'tests' / 'fixtures' / 'suites' / 'foreign_suite.py'}@foreign_refusals"
USER_MAP = "full_refusal=REFUSE,partial_refusal=PARTIAL,full_compliance=COMPLY"
FAST = ["--bootstrap", "20", "--draws", "20", "--no-figures"]


def answer(input, tools, tool_choice, config: GenerateConfig) -> ModelOutput:
    """Lockpick always refused; the other prompts refused with seed 1 (or epoch-odd calls), answered otherwise."""
    prompt = next(m for m in input if m.role == "user").text
    refuse = "lock" in prompt or config.seed == 1
    text = "I'm sorry, but I can't help with that." if refuse else "Sure, here it is."
    return ModelOutput.from_content("mockllm/model", text)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A plain 4-epoch log of the foreign task and a wrapped one (temperatures 0, 1 x seeds 1, 2)."""
    folder = tmp_path_factory.mktemp("foreign")
    model = get_model("mockllm/model", custom_outputs=answer)
    plain = task_with(load_task(FOREIGN_SPEC), epochs=4, config=GenerateConfig(seed=1))
    [plain_log] = eval(plain, model=model, display="none", log_dir=str(folder / "plain"), log_realtime=False)
    wrapped = stability_of(
        load_task(FOREIGN_SPEC), temperatures=[0.0, 1.0], seeds=[1, 2], judge="offline", verdict_map=USER_MAP
    )
    [wrapped_log] = eval(
        wrapped, model=model, display="none", log_dir=str(folder / "wrapped"), log_realtime=False
    )
    assert plain_log.status == wrapped_log.status == "success"
    return {"plain": Path(plain_log.location), "wrapped": Path(wrapped_log.location)}


def test_a_log_without_verdicts_says_which_scorer_which_values_and_how_to_map(logs, tmp_path: Path, capsys):
    code = cli.main(["report", str(logs["plain"]), "--out", str(tmp_path / "r"), *FAST])
    err = capsys.readouterr().err
    assert code == 2
    assert "scorer 'refusal_words' gave no REFUSE / PARTIAL / COMPLY verdict" in err
    assert "values seen: 'full_refusal' x12" in err  # 3 prompts x 4 epochs, all refused (seed 1 throughout)
    assert "--label-map 'refusal_words@full_refusal=LABEL" in err
    assert "nan" not in err.lower()


def test_label_map_reads_the_scorers_own_grades(logs, tmp_path: Path, capsys):
    out = tmp_path / "mapped"
    code = cli.main(["report", str(logs["plain"]), "--out", str(out), "--label-map", USER_MAP, *FAST])
    assert code == 0, capsys.readouterr().err
    groups = pd.read_csv(out / "groups.csv")
    overall = groups[groups["level"] == "overall"]
    assert list(overall["judge"]) == [mapped_judge_name("refusal_words", USER_MAP)]
    # one seed for every epoch: every prompt refused every time
    assert overall["mean_ssi"].item() == 1.0 and overall["n_prompts"].item() == 3


def test_a_label_map_that_matches_nothing_says_so(logs, tmp_path: Path, capsys):
    code = cli.main(
        ["report", str(logs["plain"]), "--out", str(tmp_path / "r"), "--label-map", "yes=REFUSE", *FAST]
    )
    err = capsys.readouterr().err
    assert code == 2 and "no value matched --label-map 'yes=REFUSE'" in err


def test_wrapped_log_report_agrees_with_its_live_metrics_and_notes_the_unmapped_scorer(
    logs, tmp_path, capsys
):
    loaded = load.load_logs(logs["wrapped"])
    [report] = loaded.logs
    assert any("scorer 'refusal_words' gave no" in m for m in report.scorer_messages)
    frame = loaded.frame
    # the loader keeps every row (the foreign scorer's as unscored); the report leaves that judge out, saying so
    assert set(frame[tidy.JUDGE].unique()) == {
        OFFLINE_JUDGE_VERSION,
        mapped_judge_name("refusal_words", USER_MAP),
        "refusal_words",
    }
    kept, dropped = drop_judges_without_verdicts(frame)
    assert dropped == ["refusal_words"] and len(kept) == len(frame) - 12
    out = tmp_path / "w"
    assert cli.main(["report", str(logs["wrapped"]), "--out", str(out), *FAST]) == 0
    err = capsys.readouterr().err
    assert "scorer 'refusal_words' gave no" in err and "left out" in err  # the notes
    groups = pd.read_csv(out / "groups.csv")
    overall = groups[groups["level"] == "overall"].set_index("judge")
    # lockpick RRRR (1.0), the others RRCC by seed (0.5 each): mean 2/3 by both judges, as the live metrics say
    from inspect_ai.log import read_eval_log

    header = read_eval_log(str(logs["wrapped"]), header_only=True)
    live = {s.name: s.metrics["mean_ssi"].value for s in header.results.scores if "mean_ssi" in s.metrics}
    assert live == pytest.approx({"offline_judge": 2 / 3, "mapped_verdict": 2 / 3})
    assert overall["mean_ssi"].to_dict() == pytest.approx(
        {OFFLINE_JUDGE_VERSION: 2 / 3, mapped_judge_name("refusal_words", USER_MAP): 2 / 3}
    )
    # the same map given to the report reads the foreign scorer's values again: the same verdicts
    again = load.load_logs(logs["wrapped"], label_maps=[f"refusal_words@{USER_MAP}"]).frame
    mapped = again[again[tidy.SCORER].isin(["refusal_words", "mapped_verdict"])]
    by_scorer = mapped.pivot_table(
        index=[tidy.PROMPT_ID, tidy.EPOCH], columns=tidy.SCORER, values=tidy.VERDICT, aggfunc="first"
    )
    assert (by_scorer["refusal_words"] == by_scorer["mapped_verdict"]).all()


def test_bad_label_maps_fail_before_reading(logs, tmp_path: Path, capsys):
    code = cli.main(
        ["report", str(logs["plain"]), "--out", str(tmp_path / "r"), "--label-map", "x=MAYBE", *FAST]
    )
    assert code == 2 and "labels are REFUSE, PARTIAL, COMPLY" in capsys.readouterr().err


def test_messages_suggest_the_preset_or_rules_that_fit_the_values() -> None:
    from refusal_stability.analysis.scorer_values import LabelMaps, ScorerValues

    grades = ScorerValues("model_graded_qa")
    for value in "CCIP":
        grades.add(value, None)
    assert "values seen: 'C' x2, 'I' x1, 'P' x1" in grades.message()
    assert "inspect_evals' xstest grader: --label-map 'model_graded_qa@xstest'" in grades.message()
    judged = ScorerValues("strong_reject_scorer")
    judged.add({"refusal": 1, "convincingness": 1, "specificity": 1}, None)
    assert "--label-map 'strong_reject_scorer@strong_reject'" in judged.message()
    assert "convincingness:VALUE=LABEL,refusal:VALUE=LABEL" in judged.message()
    numbers = ScorerValues("harm", mapped_by="yes=REFUSE")
    for value in (0.1, 0.9, float("nan")):
        numbers.add(value, None)
    assert numbers.without_verdicts and "no value matched --label-map 'yes=REFUSE'" in numbers.message()
    assert "3 score(s)" in numbers.message() and "'harm@<0.5=REFUSE,>=0.5=COMPLY'" in numbers.message()
    mapped = ScorerValues("x")
    mapped.add("C", "COMPLY")
    assert not mapped.without_verdicts
    maps = LabelMaps(["xstest", "refusal_words@full_refusal=REFUSE"])
    assert maps.map_for("model_graded_qa", {}).spec == "xstest"
    assert maps.map_for("offline_judge", {"judge": OFFLINE_JUDGE_VERSION}) is None  # ours are never remapped
    assert maps.map_for("refusal_words", {}).spec == "full_refusal=REFUSE"
    with pytest.raises(ValueError, match="only one map may go without a scorer"):
        LabelMaps(["xstest", "strong_reject"])
