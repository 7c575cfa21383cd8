"""Images: system images (catalog) and snapshots made from servers, with labels."""
from tests.support.sim.base import ApiError, route
from tests.support.sim.hetzner import labels
from tests.support.sim.hetzner._util import field_error, int_id, not_found, now_iso, page, sort_items


class ImagesMixin:
    """State: ``self.images`` {id: image}."""

    def snapshot(self, srv, body):
        """``POST /servers/{id}/actions/create_image``: the image is ``creating`` until the action ends."""
        kind = body.get("type", "snapshot")
        if kind not in ("snapshot", "backup"):
            raise field_error("type", "type must be snapshot or backup")
        labels.check(body.get("labels"))
        source = srv["image"] or {}
        image = {"id": self.next_id("image") + 300000000, "name": None, "type": kind, "status": "creating",
                 "description": body.get("description") or "%s snapshot" % srv["name"],
                 "architecture": srv["server_type"]["architecture"], "os_flavor": source.get("os_flavor", "unknown"),
                 "os_version": None, "image_size": None, "disk_size": srv["primary_disk_size"], "created": now_iso(),
                 "created_from": {"id": srv["id"], "name": srv["name"]}, "bound_to": None, "deleted": None,
                 "deprecated": None, "labels": dict(body.get("labels") or {}), "protection": {"delete": False},
                 "rapid_deploy": False}
        self.images[image["id"]] = image

        def available():
            image["status"] = "available"
            image["image_size"] = 0.42
        action = self.server_action(srv, "create_image", available, extra=[("image", image["id"])])
        return {"image": dict(image), "action": action}

    def find_image(self, request):
        image = self.images.get(int_id(request))
        if image is None:
            raise not_found("image")
        return image

    @route("GET", "/images")
    def list_images(self, request):
        q = request.query
        selector = request.arg("label_selector")
        items = [i for i in self.images.values()
                 if (not q.get("type") or i["type"] in q["type"]) and (not q.get("status") or i["status"] in q["status"])
                 and request.arg("architecture") in (None, i["architecture"]) and request.arg("name") in (None, i["name"])
                 and labels.matches(i["labels"], selector)]
        return page(request, "images", sort_items(request, items), dict)

    @route("GET", "/images/{id}")
    def get_image(self, request):
        return {"image": dict(self.find_image(request))}

    @route("PUT", "/images/{id}")
    def update_image(self, request):
        image = self.find_image(request)
        body = request.json() or {}
        if image["type"] == "system":
            raise ApiError(403, "forbidden", "system images cannot be changed")
        if "labels" in body:
            labels.check(body["labels"])
            image["labels"] = dict(body["labels"])
        if "description" in body:
            image["description"] = body["description"]
        return {"image": dict(image)}

    @route("DELETE", "/images/{id}")
    def delete_image(self, request):
        image = self.find_image(request)
        if image["type"] not in ("snapshot", "backup"):
            raise ApiError(403, "forbidden", "only snapshots and backups can be deleted")
        if image["protection"]["delete"]:
            raise ApiError(403, "protected", "image is delete protected")
        del self.images[image["id"]]
        return 204, None
