"""Walk-forward backtest engine, performance measures and statistics."""
