"""Upload site/ to a deployed stack's site bucket: `make deploy-site STACK=name`."""

from __future__ import annotations

import mimetypes
import sys
from pathlib import Path

import boto3

SITE = Path(__file__).resolve().parents[1] / "site"


def main(stack_name: str) -> None:
    session = boto3.session.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    bucket = outputs["SiteBucketName"]
    s3 = session.client("s3")
    for path in sorted(p for p in SITE.rglob("*") if p.is_file()):
        key = path.relative_to(SITE).as_posix()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # Pages change with each release; assets are named once and kept a day.
        cache = "no-cache" if key.endswith(".html") else "public, max-age=86400"
        s3.upload_file(str(path), bucket, key,
                       ExtraArgs={"ContentType": content_type, "CacheControl": cache})
        print(f"  {key}")
    print(f"site/ uploaded to s3://{bucket}; the portal is at {outputs.get('SiteUrl')}")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1]:
        raise SystemExit("usage: make deploy-site STACK=<stack name>")
    main(sys.argv[1])
