"""Backtest campaign triggers on real loan history, point in time (`xsell backtest`)."""
