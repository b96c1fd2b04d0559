"""The one SNS topic of the email and SMS channels: SNS delivers, we only subscribe and publish.

Each email or SMS channel is a subscription with a filter policy on the ``channel_id`` message
attribute, so a message published for one channel reaches that channel's subscriber alone, and a
removed channel is one ``Unsubscribe``. (A topic per service would need topics created at run time,
and a publish per channel either way.)
"""

from __future__ import annotations

import json
from typing import Any

CHANNEL_ATTRIBUTE = "channel_id"


class Topic:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._sns = client  # a boto3 SNS client (no type stubs are installed for SNS)
        self.arn = topic_arn

    def subscribe(self, channel_id: str, protocol: str, endpoint: str) -> str:
        """Subscribe ``endpoint`` for this channel's messages only; the subscription's ARN
        ("pending confirmation" until an email recipient confirms)."""
        resp = self._sns.subscribe(
            TopicArn=self.arn,
            Protocol=protocol,
            Endpoint=endpoint,
            Attributes={"FilterPolicy": json.dumps({CHANNEL_ATTRIBUTE: [channel_id]})},
            ReturnSubscriptionArn=True,
        )
        arn: str = resp["SubscriptionArn"]
        return arn

    def unsubscribe(self, subscription_arn: str) -> None:
        self._sns.unsubscribe(SubscriptionArn=subscription_arn)

    def publish(self, channel_id: str, message: str, subject: str | None = None) -> str:
        kwargs: dict[str, Any] = {
            "TopicArn": self.arn,
            "Message": message,
            "MessageAttributes": {CHANNEL_ATTRIBUTE: {"DataType": "String", "StringValue": channel_id}},
        }
        if subject:
            kwargs["Subject"] = subject
        resp = self._sns.publish(**kwargs)
        message_id: str = resp["MessageId"]
        return message_id
