#!/usr/bin/env bash
# Set up, build, get a model and index a folder of photos, then run a search.
#   scripts/quickstart.sh [FOLDER] [QUERY]
# FOLDER defaults to the bundled test images. The model is $GLIMPSE_MODEL, else openai/clip-vit-base-patch32,
# downloaded from the Hugging Face Hub; where the Hub can't be reached, the bundled tiny test model stands in
# (its results are meaningless, but the whole pipeline runs) and the message explains --model DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
folder="${1:-Tests/Fixtures/images}"
query="${2:-a photo of a cat}"

bash scripts/setup.sh
swift build -c release --product glimpse
glimpse=.build/release/glimpse
export GLIMPSE_LIBRARY="${GLIMPSE_LIBRARY:-$HOME/.local/share/glimpse/quickstart}"

model="${GLIMPSE_MODEL:-openai/clip-vit-base-patch32}"
if ! "$glimpse" model download "$model"; then
  cat >&2 <<MSG

The Hugging Face Hub could not be reached, so $model could not be downloaded.
Copy a model folder (config.json, model.safetensors, tokenizer.json, preprocessor_config.json) to this machine
and pass it with --model DIR, or set HF_ENDPOINT to a mirror. For now the bundled tiny test model is used.

MSG
  model="$PWD/Tests/Fixtures/models/clip-tiny-f32"
  export GLIMPSE_LIBRARY="$GLIMPSE_LIBRARY-tiny"
fi
"$glimpse" index "$folder" --model "$model"
"$glimpse" search "$query" --model "$model" --limit 5
