"""`orderlens-exporter`: consume export requests, write the files, publish completions."""

from orderlens_exporter.app import main

if __name__ == "__main__":
    main()
