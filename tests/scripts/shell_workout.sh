# A BusyBox sh workout: pipelines, subshells, command substitution, redirections,
# here-documents, functions, traps, background jobs and wait, and a few hundred
# external commands. Its output must be byte-for-byte Linux's.
set -u
W=/tmp/workout.$$
rm -rf "$W"; mkdir -p "$W"; cd "$W" || exit 9
trap 'echo "trap: exit status $?"; rm -rf "$W"' EXIT

# 1. A loop of pipelines: 3 external commands per round.
for i in $(seq 1 40); do
    echo "line $i" | tr 'a-z' 'A-Z' | sed 's/LINE/row/' >> rows
done
wc -l < rows
head -n 3 rows; tail -n 2 rows

# 2. Command substitution and subshells.
n=$(cat rows | grep -c row)
echo "rows counted: $n"
( cd /; pwd; exit 4 ); echo "subshell status $?"
x=$( (echo inner; echo second) | sort -r | head -n 1 ); echo "nested: $x"

# 3. Functions, case, arithmetic, and status codes of externals.
classify() {
    case "$1" in
        *[02468]) echo "$1 even" ;;
        *) echo "$1 odd" ;;
    esac
}
total=0
for i in $(seq 1 30); do
    classify "$i" | cut -d' ' -f2 >> parity
    total=$((total + $(echo "$i" | wc -c)))
done
sort parity | uniq -c | sed 's/^ *//'
echo "digits+newlines: $total"
false; echo "false -> $?"; true; echo "true -> $?"
sh -c 'exit 17'; echo "sh -c -> $?"
/bin/sh -c 'kill -TERM $$'; echo "killed -> $?"

# 4. Redirections and here-documents.
cat > doc <<END
alpha $((6 * 7))
beta
END
cat doc | wc -w
exec 3> fd3; echo "via fd 3" >&3; exec 3>&-; cat fd3
ls nosuchfile 2>/dev/null || echo "ls failed as expected"
echo "to stderr" 1>&2 2>/dev/null
{ echo one; echo two; } | tac 2>/dev/null || { echo one; echo two; } | sort -r

# 5. Background jobs and wait.
for i in 1 2 3 4 5; do
    ( sleep 0; echo "job $i" > "job.$i" ) &
done
wait
cat job.1 job.2 job.3 job.4 job.5
(sleep 0; exit 3) & wait $!; echo "background status $?"

# 6. More externals: a text pipeline of 100 commands in batches.
i=0
while [ $i -lt 25 ]; do
    printf '%s\n' c b a "$i" | sort | tr '\n' ' ' | cut -c1-12 >> batch
    echo >> batch
    i=$((i + 1))
done
md5sum < batch | cut -c1-32
sort -n batch | tail -n 1
basename /a/b/c.txt .txt; dirname /a/b/c.txt
expr 6 \* 7; test -d . && echo "test ok"
find . -name 'job.*' | sort | xargs cat | wc -l
echo done
