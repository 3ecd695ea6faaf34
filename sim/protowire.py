"""Reading the few protobuf request bodies kubectl sends through its typed clients.

kubectl's typed clientset posts `application/vnd.kubernetes.protobuf` for built-in kinds: `kubectl auth
can-i` (SelfSubjectAccessReview) and `kubectl drain` (Eviction). The body is the apiserver's envelope
(`k8s\\x00` then a runtime.Unknown{typeMeta, raw}) around the object's generated.proto message. Only the
fields those two requests carry are read; the field numbers are from k8s.io/api's generated.proto.
Everything else the sim serves stays JSON.
"""

from __future__ import annotations

from typing import Any

from sim import errors

MAGIC = b"k8s\x00"
Fields = dict[int, list[Any]]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> Fields:
    """Field number -> values (ints for varints, bytes for length-delimited); other wire types skipped."""
    out: Fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated field")
            value, pos = data[pos:pos + size], pos + size
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _text(f: Fields, number: int) -> str | None:
    value = (f.get(number) or [None])[0]
    return value.decode() if isinstance(value, bytes) else None


def _sub(f: Fields, number: int) -> Fields:
    value = (f.get(number) or [b""])[0]
    return fields(value) if isinstance(value, bytes) else {}


def _strings(f: Fields, mapping: dict[str, int]) -> dict[str, str]:
    return {name: text for name, number in mapping.items() if (text := _text(f, number))}


def _object_meta(f: Fields) -> dict[str, str]:
    return _strings(f, {"name": 1, "generateName": 2, "namespace": 3})


def _access_review(raw: Fields) -> dict[str, Any]:
    spec = _sub(raw, 2)
    body: dict[str, Any] = {"metadata": _object_meta(_sub(raw, 1)), "spec": {}}
    if 1 in spec:
        body["spec"]["resourceAttributes"] = _strings(_sub(spec, 1), {
            "namespace": 1, "verb": 2, "group": 3, "version": 4, "resource": 5, "subresource": 6, "name": 7})
    if 2 in spec:
        body["spec"]["nonResourceAttributes"] = _strings(_sub(spec, 2), {"path": 1, "verb": 2})
    return body


def _eviction(raw: Fields) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": _object_meta(_sub(raw, 1))}
    options = _sub(raw, 2)
    if options:
        body["deleteOptions"] = {k: v for k, v in {"gracePeriodSeconds": (options.get(1) or [None])[0]}.items()
                                 if v is not None}
    return body


_DECODERS = {"SelfSubjectAccessReview": _access_review, "Eviction": _eviction}


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object it stands for (kinds in _DECODERS only)."""
    try:
        if not body.startswith(MAGIC):
            raise ValueError("missing the k8s protobuf envelope")
        unknown = fields(body[len(MAGIC):])
        type_meta = _sub(unknown, 1)
        api_version, kind = _text(type_meta, 1) or "", _text(type_meta, 2) or ""
        decoder = _DECODERS.get(kind)
        if decoder is None:
            raise ValueError(f"protobuf bodies of kind {kind!r} are not supported; send JSON")
        raw = (unknown.get(2) or [b""])[0]
        return {"apiVersion": api_version, "kind": kind, **decoder(fields(raw))}
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.ApiError(415, f"the body of the request was in an unknown format: {exc}") from None
