"""The PDF report of a run directory and its plain-language verdict."""
