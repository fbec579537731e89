#!/usr/bin/env bash
# Regenerates the sample challenges README.md shows (docs/samples/) and prints the table
# that shows them: two images of each charset and difficulty at the default size, and three
# clips of each language and difficulty, with answers, each in a random style of its own.
# Hangul is drawn four syllables long, the length we suggest for it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/samples
rm -rf "$out" && mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/captcha" .
# collect copies the challenges gen wrote to dir as $out/prefix-N.ext and prints them as
# one table cell: images shown with their answers, clips linked under theirs.
collect() {
  local dir=$1 ext=$2 prefix=$3 cell="" i=0 f name answer
  for f in "$dir"/*."$ext"; do
    name="$prefix-$i.$ext"
    cp "$f" "$out/$name"
    answer=$(basename "$f" ".$ext" | cut -d_ -f2)
    if [ "$ext" = jpg ]; then
      cell="$cell ![$answer]($out/$name) \`$answer\`"
    else
      cell="$cell [$answer]($out/$name)"
    fi
    i=$((i + 1))
  done
  printf '%s' "$cell"
}

echo "| charset | easy | normal | hard |"
echo "| --- | --- | --- | --- |"
for charset in alnum digits hangul; do
  length=6
  [ "$charset" = hangul ] && length=4
  row="| \`$charset\` |"
  for difficulty in easy normal hard; do
    "$tmp/captcha" gen -n 2 -charset "$charset" -length "$length" -difficulty "$difficulty" \
      -styles 2 -out "$tmp/$charset-$difficulty" >/dev/null
    row="$row$(collect "$tmp/$charset-$difficulty" jpg "$charset-$difficulty") |"
  done
  echo "$row"
done

# Audio: three clips of each language and difficulty, each in a random style of its own,
# for a person to listen to. Korean speaks hangul (4 syllables), English alnum.
echo
echo "| language | easy | normal | hard |"
echo "| --- | --- | --- | --- |"
for lang in en ko; do
  charset=alnum; length=6
  [ "$lang" = ko ] && charset=hangul && length=4
  row="| \`$lang\` |"
  for difficulty in easy normal hard; do
    "$tmp/captcha" gen -n 3 -styles 3 -audio -lang "$lang" -charset "$charset" -length "$length" \
      -difficulty "$difficulty" -out "$tmp/audio-$lang-$difficulty" >/dev/null
    row="$row$(collect "$tmp/audio-$lang-$difficulty" wav "audio-$lang-$difficulty") |"
  done
  echo "$row"
done
