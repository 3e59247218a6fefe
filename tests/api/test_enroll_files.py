"""A multi-file enroll through the API judges each file by its content and names every
file it did not enroll (issue 9, item 2, checked on the API's path): a JPEG named
``.jfif`` or ``.jpe`` (sent as octet-stream) is enrolled, a HEIC is named as HEIC."""

from __future__ import annotations

from pathlib import Path

from .conftest import Api

HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def test_each_file_is_judged_by_content_and_every_failure_is_named(
    api: Api, test_images: dict[str, list[Path]]
) -> None:
    h = api.headers("curator")
    api.client.post("/api/v1/galleries", json={"name": "g", "legal_basis": "test"}, headers=h)
    colin, serena = test_images["Colin_Powell"], test_images["Serena_Williams"]
    octets = "application/octet-stream"
    files = [
        ("files", ("photo.jfif", colin[0].read_bytes(), octets)),
        ("files", ("photo.jpe", serena[0].read_bytes(), octets)),
        ("files", ("IMG_0001.HEIC", HEIC_HEAD, "image/heic")),
        ("files", ("notes.txt", b"box 12", "text/plain")),
    ]
    r = api.client.post("/api/v1/galleries/g/images", files=files, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["enrolled"], body["failed"]) == (2, 2)
    outcomes = {f["filename"]: (f["outcome"], f.get("error")) for f in body["files"]}
    assert outcomes["photo.jfif"][0] == outcomes["photo.jpe"][0] == "enrolled"
    heic, text = outcomes["IMG_0001.HEIC"], outcomes["notes.txt"]
    assert heic[0] == "failed" and heic[1]["message"].endswith(": this is HEIC")
    assert text[0] == "failed" and text[1]["code"] == "image_decode_error"
