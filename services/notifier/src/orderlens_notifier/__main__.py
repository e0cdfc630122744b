"""`orderlens-notifier`: order and export events in, inbox items and buyer mails out."""

from orderlens_notifier.app import main

if __name__ == "__main__":
    main()
