"""Materials: stored through the object store with their SHA-256, size and type limits enforced."""

import hashlib

import pytest

from govkit.errors import AppError, ErrorKind
from intake import service
from intake.domain.declaration import DeclarationStatus

from .conftest import PDF_BYTES

pytestmark = pytest.mark.integration


async def test_upload_is_stored_with_its_sha256_and_size_and_reads_back_byte_for_byte(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022")
    draft = await world.draft()
    body = PDF_BYTES + b"%" + "技术方案".encode() * 100
    material = await service.upload_material(
        deps=world.deps,
        principal=world.applicant,
        declaration_id=draft.id,
        doc_type="technical_scheme",
        filename="技术方案（第二版）.pdf",
        content_type="application/pdf",
        data=body,
    )
    assert material.sha256 == hashlib.sha256(body).hexdigest() and material.size == len(body)
    assert material.filename == "技术方案（第二版）.pdf" and material.content_type == "application/pdf"
    assert material.storage_key.startswith(f"{world.tenant}/declarations/{draft.id}/")
    # The bureau reads the file; the bytes are the ones uploaded.
    found, data = await service.download_material(
        deps=world.deps, principal=world.bureau, declaration_id=draft.id, material_id=material.id
    )
    assert data == body and found.sha256 == material.sha256
    listed = await service.list_materials(deps=world.deps, principal=world.applicant, declaration_id=draft.id)
    assert [m.id for m in listed.materials] == [material.id]
    assert listed.required == ("application_form", "technical_scheme") and listed.missing == [
        "application_form"
    ]


async def test_size_and_type_limits_are_enforced_before_anything_is_stored(make_world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022", max_upload_bytes=1000)
    draft = await world.draft()

    async def upload(filename: str, data: bytes, content_type: str = "application/pdf") -> None:
        await service.upload_material(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=draft.id,
            doc_type="other",
            filename=filename,
            content_type=content_type,
            data=data,
        )

    with pytest.raises(AppError) as err:
        await upload("大文件.pdf", PDF_BYTES + b"0" * 1000)
    assert err.value.code == "UPLOAD_TOO_LARGE" and err.value.kind is ErrorKind.INVALID
    with pytest.raises(AppError) as err:
        await upload("setup.pdf", b"MZ\x90\x00" + b"\x00" * 100)  # a program renamed to .pdf
    assert err.value.code == "UPLOAD_TYPE_NOT_ALLOWED"
    with pytest.raises(AppError) as err:
        await upload("脚本.exe", b"MZ\x90\x00", "application/octet-stream")
    assert err.value.code == "UPLOAD_TYPE_NOT_ALLOWED"
    with pytest.raises(AppError) as err:
        await upload("空.pdf", b"")
    assert err.value.code == "UPLOAD_EMPTY"
    with pytest.raises(AppError) as err:
        await service.upload_material(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=draft.id,
            doc_type="resume",
            filename="a.pdf",
            content_type="application/pdf",
            data=PDF_BYTES,
        )
    assert err.value.details["fields"][0]["field"] == "doc_type"
    assert (
        await service.list_materials(deps=world.deps, principal=world.applicant, declaration_id=draft.id)
    ).materials == []
    assert not any(p.is_file() for p in (tmp_path / "objects").rglob("*"))


async def test_only_the_units_applicant_uploads_and_only_while_editable(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022")
    draft = await world.draft()
    with pytest.raises(AppError) as err:
        await world.upload(draft, "other", world.who("applicant", "unit-2"))
    assert err.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(AppError) as err:
        await world.upload(draft, "other", world.bureau)
    assert err.value.kind is ErrorKind.FORBIDDEN
    pending = await world.to_head(draft)
    assert pending.status is DeclarationStatus.PENDING_SIGNOFF
    with pytest.raises(AppError) as err:
        await world.upload(pending, "other")
    assert err.value.code == "DECLARATION_NOT_EDITABLE"


async def test_deleting_a_material_removes_the_record_and_the_bytes(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022")
    draft = await world.draft()
    material = await world.upload(draft, "application_form")
    assert world.deps.store is not None and await world.deps.store.exists(material.storage_key)
    await service.delete_material(
        deps=world.deps, principal=world.applicant, declaration_id=draft.id, material_id=material.id
    )
    assert not await world.deps.store.exists(material.storage_key)
    with pytest.raises(AppError) as err:
        await service.download_material(
            deps=world.deps, principal=world.applicant, declaration_id=draft.id, material_id=material.id
        )
    assert err.value.kind is ErrorKind.NOT_FOUND
