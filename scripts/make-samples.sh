#!/usr/bin/env bash
# Regenerates the sample challenges README.md shows (docs/samples/) and prints the table
# that shows them: two of each charset and difficulty at the default size, with answers.
# Hangul is drawn four syllables long, the length we suggest for it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/samples
rm -rf "$out" && mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/captcha" .
echo "| charset | easy | normal | hard |"
echo "| --- | --- | --- | --- |"
for charset in alnum digits hangul; do
  length=6
  [ "$charset" = hangul ] && length=4
  row="| \`$charset\` |"
  for difficulty in easy normal hard; do
    "$tmp/captcha" gen -n 2 -charset "$charset" -length "$length" -difficulty "$difficulty" \
      -styles 2 -out "$tmp/$charset-$difficulty" >/dev/null
    cell=""
    i=0
    for f in "$tmp/$charset-$difficulty"/*.jpg; do
      name="$charset-$difficulty-$i.jpg"
      cp "$f" "$out/$name"
      answer=$(basename "$f" .jpg | cut -d_ -f2)
      cell="$cell ![$answer]($out/$name) \`$answer\`"
      i=$((i + 1))
    done
    row="$row$cell |"
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
    cell=""
    i=0
    for f in "$tmp/audio-$lang-$difficulty"/*.wav; do
      name="audio-$lang-$difficulty-$i.wav"
      cp "$f" "$out/$name"
      answer=$(basename "$f" .wav | cut -d_ -f2)
      cell="$cell [$answer]($out/$name)"
      i=$((i + 1))
    done
    row="$row$cell |"
  done
  echo "$row"
done
