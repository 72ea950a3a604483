"""``python -m portfolio_rl`` runs the command line."""

from portfolio_rl.cli import main

if __name__ == "__main__":
    main()
