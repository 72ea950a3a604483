"""Price data: bundled and file sources, their checks, yfinance downloads and market paths."""
