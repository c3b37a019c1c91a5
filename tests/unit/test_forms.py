from starlette.datastructures import FormData, UploadFile

from bentos.common.middleware import text_in_file_field


def test_text_in_a_file_field_is_named_and_uploads_pass():
    upload = UploadFile(file=None, filename="a.jpg")
    assert text_in_file_field(FormData([("images", upload), ("images", "http://x/")]), ("images",)) == "images"
    assert text_in_file_field(FormData([("images", upload), ("threshold", "0.5")]), ("images",)) is None
    assert text_in_file_field(FormData([("threshold", "0.5")]), ("image", "images")) is None
