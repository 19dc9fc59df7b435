"""The generated rca.v1 stubs must match protos/: regenerate and compare, file by file and by descriptor."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from rca.service import protogen
from rca.service.stubs import pb


def test_generated_stubs_match_the_proto_files(tmp_path):
    descriptor_set = tmp_path / "rca.pb"
    fresh = protogen.generate(tmp_path / "out", descriptor_set=descriptor_set)
    stale = []
    for path in fresh:
        installed = protogen.REPO_ROOT / path.relative_to(tmp_path / "out")
        if not installed.exists() or installed.read_bytes() != path.read_bytes():
            stale.append(str(installed.relative_to(protogen.REPO_ROOT)))
    assert not stale, f"stale gRPC stubs {stale}: run `python -m rca.service.protogen`"

    # The module actually imported describes the same API as the .proto file today.
    from_proto = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file[0]
    loaded = descriptor_pb2.FileDescriptorProto.FromString(pb.DESCRIPTOR.serialized_pb)
    from_proto.ClearField("source_code_info")
    _drop_json_names(from_proto.message_type)  # derived by protoc, not carried in the generated module
    assert loaded == from_proto


def _drop_json_names(messages) -> None:
    for message in messages:
        for field in message.field:
            field.ClearField("json_name")
        _drop_json_names(message.nested_type)


def test_a_changed_proto_is_detected_as_stale(tmp_path):
    # The comparison above can fail: a proto with one more field generates different code.
    proto_root = tmp_path / "protos"
    (proto_root / "rca" / "v1").mkdir(parents=True)
    text = (protogen.PROTO_ROOT / "rca" / "v1" / "rca.proto").read_text()
    (proto_root / "rca" / "v1" / "rca.proto").write_text(
        text.replace("message TimeWindow {", "message TimeWindow {\n  string zone = 99;")
    )
    changed = protogen.generate(tmp_path / "out", proto_root)
    generated = next(p for p in changed if p.name == "rca_pb2.py")
    assert generated.read_bytes() != (protogen.REPO_ROOT / "rca" / "v1" / "rca_pb2.py").read_bytes()
