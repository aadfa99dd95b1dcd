"""The Python baseline for `make bench`: a boto3 Lambda handler the way the original tool's were
written (boto3 imported and the RDS client made at import, on the managed Python runtime's
interface client, awslambdaric), making the same AWS calls the Rust task made on its first
invocation.

The event is {"calls": [{"service", "region", "operation", "params"}]}, the calls as the emulator
recorded them from the Rust task: query-protocol parameters flattened (`Filters.Filter.1.Name`),
JSON-protocol ones as sent. `unflatten` turns the former back into boto3's shape with the
operation's botocore model, so each call goes through boto3 as a handler would make it.
"""

from __future__ import annotations

import boto3
from botocore.model import Shape

rds = boto3.client("rds")  # at import, as the original tool's handlers did
_clients = {"rds": rds}


def _client(service: str, region: str):
    key = f"{service}:{region}"
    if key not in _clients:
        name = "stepfunctions" if service == "sfn" else service
        _clients[key] = rds if (service == "rds" and region == rds.meta.region_name) \
            else boto3.client(name, region_name=region)
    return _clients[key]


def unflatten(shape: Shape, flat: dict[str, str], prefix: str = "") -> object:
    """A query-protocol request's flat parameters as the nested value of `shape`."""
    if shape.type_name == "structure":
        out = {}
        for name, member in shape.members.items():
            key = f"{prefix}.{member.serialization.get('name', name)}" if prefix \
                else member.serialization.get("name", name)
            value = unflatten(member, flat, key)
            if value is not None:
                out[name] = value
        return out or None if prefix else out
    if shape.type_name == "list":
        member = shape.member
        item = member.serialization.get("name", "member")
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.{item}"
        items = []
        while (value := unflatten(member, flat, f"{base}.{len(items) + 1}")) is not None:
            items.append(value)
        if not items and f"{prefix}" in flat and flat[prefix] == "":
            return []
        return items or None
    raw = flat.get(prefix)
    if raw is None:
        return None
    if shape.type_name in ("integer", "long"):
        return int(raw)
    if shape.type_name == "boolean":
        return raw.lower() == "true"
    if shape.type_name in ("float", "double"):
        return float(raw)
    return raw


def params_for(client, operation: str, params: dict) -> dict:
    model = client.meta.service_model
    op = model.operation_model(operation)
    if model.protocol == "query" and op.input_shape is not None:
        return unflatten(op.input_shape, params) or {}
    return params


def handler(event, context):
    answers = []
    for call in event["calls"]:
        client = _client(call["service"], call["region"])
        params = params_for(client, call["operation"], call["params"])
        try:
            client._make_api_call(call["operation"], params)
            answers.append("ok")
        except client.exceptions.ClientError as e:
            answers.append(e.response["Error"]["Code"])
    return {"calls": len(answers), "answers": answers}
