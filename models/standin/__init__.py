"""A stand-in for `vllm serve`: the vLLM path, faults and throughput tested with no GPU and no model.

- `answers`: deterministic replies that depend only on (prompt, seed, temperature), and grader verdicts;
- `faults`: which requests get which injected fault;
- `pacing`: how long a reply takes;
- `request_log`: every request the server received, for assertions at the server;
- `server`: the aiohttp routes (``/v1/chat/completions``, ``/v1/models``, ``/version``, ``/standin/...``);
- `runner`: serve in a background thread (`running_standin`) or from the command line (``__main__``).
"""
