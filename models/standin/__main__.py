"""``python -m refusal_stability.models.standin``: serve a stand-in vLLM server from the command line.

    python -m refusal_stability.models.standin --port 8000 --served-model-name Qwen/Qwen2.5-7B-Instruct
    VLLM_BASE_URL=http://127.0.0.1:8000/v1 inspect eval tasks/stability.py \
        --model vllm/Qwen/Qwen2.5-7B-Instruct -T sample=10

A batching engine's throughput (the benchmark in ``benchmarks/``): replies as long as the study's, decoded
at 12,500 tokens/s shared by the requests in flight, at most 100 tokens/s each:

    python -m refusal_stability.models.standin --served-model-name model grader \
        --token-rate 12500 --sequence-rate 100 --ttft 0.05 \
        --reply-lengths ../shared/datasets/refusal_stability_paper/labels

Options mirror `vllm serve` where one exists (``--port``, ``--host``, ``--served-model-name``,
``--api-key``, ``--max-model-len``); the rest set faults, pacing, reply lengths and the request log.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from refusal_stability.models.standin.faults import parse_fault
from refusal_stability.models.standin.lengths import StudyLengths
from refusal_stability.models.standin.pacing import make_pacer
from refusal_stability.models.standin.runner import LOOPBACK, serve
from refusal_stability.models.standin.server import DEFAULT_MAX_MODEL_LEN, DEFAULT_MODEL_NAME, StandinConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m refusal_stability.models.standin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=LOOPBACK, help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free port, printed at start)")
    parser.add_argument(
        "--served-model-name",
        nargs="+",
        default=[DEFAULT_MODEL_NAME],
        help="model name(s) accepted in requests; others get 404",
    )
    parser.add_argument("--api-key", default=None, help="require this bearer token (401 otherwise)")
    parser.add_argument("--max-model-len", type=int, default=DEFAULT_MAX_MODEL_LEN)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:key=value,...]",
        help="inject a fault, e.g. 500:rate=0.05 or malformed-json:first=1 (repeatable)",
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds every reply takes")
    parser.add_argument(
        "--token-rate",
        type=float,
        default=None,
        help="token-paced: tokens/s the engine decodes over all requests in flight together",
    )
    parser.add_argument(
        "--sequence-rate",
        type=float,
        default=None,
        help="token-paced: tokens/s one request decodes at most (default: --token-rate)",
    )
    parser.add_argument("--ttft", type=float, default=0.0, help="token-paced: seconds to first token")
    parser.add_argument(
        "--reply-lengths",
        type=Path,
        default=None,
        metavar="PATH",
        help="recorded generations with judge outputs (the study's labels folder): replies get their lengths",
    )
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of a 429-retry-after fault")
    parser.add_argument("--slow", type=float, default=30.0, help="seconds a 'slow' fault waits")
    parser.add_argument("--request-log", type=Path, default=None, help="append every request to this JSONL")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> StandinConfig:
    """The server configuration the command line describes."""
    return StandinConfig(
        served_model_names=tuple(args.served_model_name),
        api_key=args.api_key,
        faults=tuple(parse_fault(spec) for spec in args.fault),
        pacer=make_pacer(args.delay, args.token_rate, args.sequence_rate, args.ttft),
        retry_after_s=args.retry_after,
        slow_s=args.slow,
        max_model_len=args.max_model_len,
        request_log_path=args.request_log,
        lengths=StudyLengths.from_path(args.reply_lengths) if args.reply_lengths else None,
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted; SIGTERM stops it as cleanly as Ctrl-C."""
    args = parse_args(argv)
    config = config_from_args(args)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        asyncio.run(serve(config, host=args.host, port=args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
