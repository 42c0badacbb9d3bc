"""Notices to taxpayers: written to the outbox with the change they report, delivered later.

Other code calls `notify_booking` (a booking made, moved, cancelled, or a visit a disruption
cancelled or moved) or `notify` (anything else, e.g. a door-to-door answer); `deliver_due`
(web/notify/delivery.py) sends what is due through the configured sender.
"""

from web.notify.outbox import notices_of_district, notify, notify_booking

__all__ = ["notices_of_district", "notify", "notify_booking"]
