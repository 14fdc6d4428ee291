"""The node image's runtime stage carries every shared framework the node's runtimeconfig names.

usage: check_image.py DOCKERFILE RUNTIMECONFIG
"""
import json
import re
import sys

# What each official .NET image carries (its repository under mcr.microsoft.com/dotnet/).
FRAMEWORKS = {
    "runtime": {"Microsoft.NETCore.App"},
    "aspnet": {"Microsoft.NETCore.App", "Microsoft.AspNetCore.App"},
    "sdk": {"Microsoft.NETCore.App", "Microsoft.AspNetCore.App"},
    "runtime-deps": set(),
}

dockerfile, runtimeconfig = sys.argv[1], sys.argv[2]
stages = [line.split()[1] for line in open(dockerfile) if re.match(r"^FROM\s", line)]
if not stages:
    sys.exit(f"{dockerfile}: no FROM line")
image = stages[-1]
match = re.match(r"mcr\.microsoft\.com/dotnet/([a-z-]+):", image)
if not match or match.group(1) not in FRAMEWORKS:
    sys.exit(f"{dockerfile}: the runtime stage {image} is not an official .NET image this check knows")
options = json.load(open(runtimeconfig))["runtimeOptions"]
needed = {f["name"] for f in options.get("frameworks", [options.get("framework")]) if f}
missing = needed - FRAMEWORKS[match.group(1)]
if missing:
    sys.exit(f"{dockerfile}: the runtime stage {image} lacks {', '.join(sorted(missing))}, which {runtimeconfig} needs")
print(f"{dockerfile}: the runtime stage {image} carries {', '.join(sorted(needed))}")
