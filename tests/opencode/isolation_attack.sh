# The attack an isolated agent runs (tests/opencode/test_isolation_*.py): each
# attempt is written to results.txt, in its worktree (its own work). The test
# fills in the @NAMES@ before the agent runs it.
r=results.txt
: > "$r"
try() {
  if sh -c "$2" >/dev/null 2>&1; then echo "$1 SUCCEEDED" >> "$r"; else echo "$1 failed" >> "$r"; fi
}
found() {  # every password this process can find: its environment, any process's
  echo "$OPENCODE_SERVER_PASSWORD"
  cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | sed -n 's/^OPENCODE_SERVER_PASSWORD=//p'
}
answers() {  # its own server's API, with each password found (200: it got in)
  for pw in $(found); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -u "opencode:$pw" "@URL@/permission")
    [ "$code" = 200 ] && return 0
  done
  return 1
}
try write-main "echo x > '@MAIN@/evil.txt'"
try write-other "echo x > '@OTHER@/evil.txt'"
try read-ssh "cat '@HOME@/.ssh/id_ed25519'"
try read-repo-password "cat '@STATE@/opencode/password'"
try read-own-password "cat '@STATE@/sandboxes/@ID@/opencode/password'"
try env-password "env | grep -q OPENCODE_SERVER_PASSWORD="
try proc-password "cat /proc/[0-9]*/environ | tr '\0' '\n' | grep -q OPENCODE_SERVER_PASSWORD="
try move-main "git update-ref refs/heads/main \$(git commit-tree HEAD^{tree} -p HEAD -m x)"
try kill-service "kill -9 @PID@"
try add-plugin 'echo "{\"plugin\": [\"file:///x.js\"]}" > "$HOME/.config/opencode/opencode.json"'

if answers; then echo "approve-own SUCCEEDED" >> "$r"; else echo "approve-own failed" >> "$r"; fi
setsid sh -c 'exec sleep 3001.@TOKEN@' > /dev/null 2>&1 &
echo "own work" > mine.txt
git add mine.txt results.txt
git -c user.name=agent -c user.email=agent@example.com commit -qm "the agent's own work" \
  && echo "own-commit ok" >> done.txt
