"""Analysis of refusal-stability eval logs: reads logs only, never calls a model.

    load.py / study_labels.py   logs (or the study's CSVs) -> the tidy table (tidy.py): load.py finds logs,
                                de-duplicates evals and decides which to use; eval_archive.py reads the
                                samples of one log fast; flatten.py turns them into tidy rows
    per_prompt.py               SSI, flips, rates, within-temperature SSI, binary ablations
    groups.py                   per run / model / dataset / judge / category / temperature; greedy check
    stats.py                    Friedman + Kendall's W + Wilcoxon post-hoc; Spearman with bootstrap CI
    agreement.py                Cohen's kappa, % agreement, confusion matrix between judges
    single_shot.py              agreement of n-sample majorities with the full-grid majority
    runs.py                     run-to-run spread (fine-tuning seeds, checkpoints, models)
    clustered.py, intervals.py  SEs over per-prompt means (cluster-robust, ICC, design effect); Wilson/exact
    paired.py, power.py         runs compared on the same prompts (McNemar, Holm); detectable differences
    prompt_model.py             beta-binomial over prompts: share in [5 %, 95 %], flips at any K, tail risk
    judge_noise.py              identical responses judged differently; two-judge flips; corrected rates
    publishable.py              all of the above as the report's named tables
    figures.py                  the report's figures (`@report_figure`)
    report.py                   the report's pipeline: analyse, then write (report_files.py: CSVs, JSON)
    report_folder.py            never over an existing report (refuse, overwrite or numbered)
    study_check.py              the study's published figures beside its replayed run
    report_blocks.py            the report's sections; report_render.py: Markdown and HTML

Command line: `refusal-stability report LOGS... --out reports/NAME/` (see `src/refusal_stability/cli.py`).
"""
