"""Images: public distribution images and custom images uploaded through POST /images/upload.

The upload itself is a PUT of the gzip bytes to the ``upload_to`` URL. On
the real service that is a pre-signed object-storage URL outside the API
document; the simulator serves it itself at ``/upload/<token>`` (not
spec-checked, because no document describes it). Statuses: pending_upload
-> (PUT) creating -> available. A body that is not gzip makes processing fail:
the image disappears after the ``creating`` phase (an assumption: the API
document does not say what the real service does with a corrupt upload).
Images that are never uploaded stay ``pending_upload`` (the real service
expires them after a while).
"""
import gzip
import math
import secrets
import zlib

from tests.support.sim.base import ApiError, route
from tests.support.sim.linode._common import Timeline, apply_update, check_tags, invalid, listing_of, lookup, now, public

FILTERABLE = ("id", "label", "tags", "is_public", "vendor", "type", "status", "created_by", "deprecated", "size")
UPLOAD_PREFIX = "/upload/"


def _image(image_id, label, **fields):
    image = {"id": image_id, "label": label, "description": None, "created": now(), "updated": now(),
             "created_by": None, "deprecated": False, "is_public": False, "size": 0, "total_size": 0,
             "status": "available", "type": "manual", "vendor": None, "expiry": None, "eol": None,
             "capabilities": [], "tags": [], "regions": []}
    image.update(fields)
    return image


def default_images():
    return {"linode/debian12": _image("linode/debian12", "Debian 12", created_by="linode", is_public=True,
                                      size=1300, total_size=1300, type="automatic", vendor="Debian",
                                      capabilities=["cloud-init"])}


class ImagesMixin:
    def _image_or_404(self, image_id):
        return lookup(self.images, image_id, cast=str)

    @route("GET", "/images")
    def list_images(self, request):
        return listing_of(request, self.images, FILTERABLE)

    @route("POST", "/images/upload")
    def create_upload(self, request):
        body = request.json() or {}
        if not body.get("label"):
            raise invalid("label is required", "label")
        region = self.region(body.get("region"))
        if region is None:
            raise invalid("region is not valid", "region")
        check_tags(body.get("tags"), maximum=100)
        image_id = "private/%d" % (self.next_id("image") + 30000000)
        image = _image(image_id, body["label"], description=body.get("description"), created_by="autoextender-sim",
                       status="pending_upload", tags=sorted(set(body.get("tags") or [])),
                       capabilities=["cloud-init"] if body.get("cloud_init") else [],
                       regions=[{"region": region["id"], "status": "pending"}])
        image["_timeline"] = Timeline(image)
        token = secrets.token_hex(16)
        image["_upload_token"] = token
        self.images[image_id] = image
        host, port = self._server.server_address[:2]
        return {"image": public(image), "upload_to": "http://%s:%d%s%s" % (host, port, UPLOAD_PREFIX, token)}

    @route("GET", "/images/{imageId}")
    def get_image(self, request):
        return public(self._image_or_404(self._image_id(request)))

    @route("PUT", "/images/{imageId}")
    def update_image(self, request):
        image = self._image_or_404(self._image_id(request))
        if image["is_public"]:
            raise ApiError(403, None, "Unauthorized")
        return public(apply_update(image, request.json() or {}, ("label", "description"), tag_max=100))

    @route("DELETE", "/images/{imageId}")
    def delete_image(self, request):
        image = self._image_or_404(self._image_id(request))
        if image["is_public"]:
            raise ApiError(403, None, "Unauthorized")
        del self.images[image["id"]]
        return {}

    @staticmethod
    def _image_id(request):
        # "private/123" in two path segments, as the SDK and the CLI send it (SLASH_PARAMS)
        return request.params["imageId"]

    # -- the upload URL (outside the API document) ---------------------------------
    def upload(self, request):
        """PUT <upload_to>: store the bytes; processing then moves the image on."""
        token = request.path[len(UPLOAD_PREFIX):]
        with self.lock:
            image = next((i for i in self.images.values() if i.get("_upload_token") == token), None)
            if request.method != "PUT" or image is None or image["status"] != "pending_upload":
                return 403, None, {}
            image["_upload_token"] = None
            image["status"] = "creating"
            image["updated"] = now()
            size = self._raw_size(request.raw)
            if size is None:
                image["_timeline"].then(self.step, self._processing_failed)
            else:
                megabytes = max(1, int(math.ceil(size / 1048576.0)))
                image["size"] = image["total_size"] = megabytes
                image["regions"] = [dict(r, status="available") for r in image["regions"]]
                image["_timeline"].then(self.step, "available")
            self.uploads.append((image["id"], len(request.raw)))
        return 200, None, {}

    @staticmethod
    def _raw_size(data):
        """Size of the gunzipped disk image, None when ``data`` is not gzip."""
        try:
            return len(gzip.decompress(data))
        except (OSError, EOFError, zlib.error):
            return None

    def _processing_failed(self, image):
        self.images.pop(image["id"], None)
