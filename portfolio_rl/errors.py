"""Error and warning types that the command line turns into one clear line."""


class PortfolioRLError(Exception):
    """An expected failure caused by input, data or environment (not a bug).

    The command line prints ``error: <message>`` and exits non-zero, without a traceback.
    """


class DataError(PortfolioRLError):
    """Price data that is missing, malformed or unusable."""


class DownloadError(PortfolioRLError):
    """A download that failed after its retries."""


class ConfigError(PortfolioRLError):
    """An experiment configuration with unknown keys or bad values."""


class TrainingDiverged(PortfolioRLError):
    """A training run that produced NaN or an exploding KL and was stopped."""


class DataWarning(UserWarning):
    """A stated repair or a suspicious feature of the data (stale series, filled gaps)."""
