"""`orderlens-notifier`: deliver order events to webhook subscribers; `replay <id>` requeues
a subscription's parked deliveries."""

from orderlens_notifier.app import main

if __name__ == "__main__":
    main()
