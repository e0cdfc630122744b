"""The verified webhooks' topic: raw bodies keyed by shop, one shop's notifications in order."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from ..notifications import Notification


class KafkaNotificationLog:
    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers.split(","),
            client_id="orderlens-tiktok-connector",
            acks="all",
            enable_idempotence=True,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def ready(self) -> bool:
        try:
            await self._producer.partitions_for(self.topic)
        except Exception:  # any failure to reach the broker means not ready
            return False
        return True

    async def stop(self) -> None:
        await self._producer.stop()

    async def append(self, notification: Notification, raw_body: bytes) -> None:
        await self._producer.send_and_wait(
            self.topic,
            raw_body,
            key=notification.shop_id.encode(),
            headers=[("tts-notification-id", notification.tts_notification_id.encode())],
        )
