"""`python -m streams` and the `signpost` console command."""

from streams.app import main

if __name__ == "__main__":
    main()
