"""Short-term forecasts of capacity: the next hours of every numeric item, with an interval
and an honest backtest against two baselines.

The rules are pure (`series`, `model`, `backtest`, `bounds`): arrays in, arrays out, no I/O.
`refit` reads the hourly roll-ups and writes the `forecast` table; `python -m forecast` runs it
on a schedule, beside the stream worker and the API (never on the request path).
"""
