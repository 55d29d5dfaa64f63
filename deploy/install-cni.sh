#!/bin/sh
# Init container of the cnr DaemonSet: installs cnr-cni on the host.
#
# /opt/cni/bin/cnr-cni is bin/cnr-cni, a bash shim that hands each call to the CNI service
# inside the controller (<stateDir>/cni.sock) with OpenBSD netcat: no Node start per call.
# What the host needs for that: /bin/bash and nc.openbsd on PATH, /usr/bin or /bin
# (Debian/Ubuntu: the netcat-openbsd package). Without nc.openbsd, or while the controller
# is down, the shim runs the Node plugin instead (about 100 ms slower, same result), for
# which the image's node binary and the compiled plugin are copied to $CNR_LIB_DIR: the host
# needs no Node of its own. A host without bash gets CNR_CNI_SHIM=node (chart value
# cni.shim: node): a /bin/sh shim that always runs the Node plugin.
#
# Every file is written beside its target and renamed over it, so a runtime calling the
# plugin while a new version is installed runs either the old or the new one.
set -eu

BIN=${CNI_BIN_DIR:-/host/cni/bin}
CONF=${CNI_CONF_DIR:-/host/cni/net.d}
LIB=${CNR_LIB_DIR:-/host/cni/cnr}
HOST_LIB=${CNR_HOST_LIB_DIR:-/opt/cni/cnr}
CONF_NAME=${CNI_CONF_NAME:-90-cnr.conflist}
CONFIG_DIR=${CNR_CONFIG_DIR:-/etc/cnr}
SHIM=${CNR_CNI_SHIM:-bash}
SRC=${CNR_HOME:-/opt/cnr}

mkdir -p "$BIN" "$CONF" "$LIB"

# A new release directory, then the `current` symlink swapped onto it in one rename: a
# plugin started meanwhile runs the old release or the new one, never a half-copied one.
rel="rel.$(date +%s).$$"
stage="$LIB/.$rel"
rm -rf "$stage"
mkdir -p "$stage"
cp "$(command -v node)" "$stage/node"
cp -r "$SRC/dist" "$SRC/node_modules" "$SRC/package.json" "$SRC/bin" "$stage/"
mv "$stage" "$LIB/$rel"
if [ -d "$LIB/current" ] && [ ! -L "$LIB/current" ]; then rm -rf "$LIB/current"; fi
ln -sfn "$rel" "$LIB/current.new"
mv -T "$LIB/current.new" "$LIB/current"
# keep the previous release for plugins still running from it; drop older ones
(cd "$LIB" && ls -1d rel.* 2>/dev/null | sort -t. -k2,2n -k3,3n | head -n -2 | while read -r old; do [ "$old" = "$rel" ] || rm -rf "$old"; done)

case "$SHIM" in
  bash)
    # the shim's fallback runs the Node plugin of the current release
    sed "s|^node_main=.*# CNR-NODE-MAIN.*\$|node_main=($HOST_LIB/current/node $HOST_LIB/current/bin/cnr-cni-node) # installed by deploy/install-cni.sh|" \
      "$SRC/bin/cnr-cni" > "$BIN/.cnr-cni.$$"
    grep -q "^node_main=($HOST_LIB/current/node " "$BIN/.cnr-cni.$$" || { echo "install-cni: cannot point the shim at $HOST_LIB" >&2; exit 1; }
    ;;
  node)
    cat > "$BIN/.cnr-cni.$$" <<SHIM
#!/bin/sh
# installed by the cnr DaemonSet (deploy/install-cni.sh, CNR_CNI_SHIM=node): every call starts Node
unset NODE_OPTIONS NODE_EXTRA_CA_CERTS
exec $HOST_LIB/current/node $HOST_LIB/current/bin/cnr-cni-node "\$@"
SHIM
    ;;
  *)
    echo "install-cni: CNR_CNI_SHIM must be bash or node, not '$SHIM'" >&2
    exit 1
    ;;
esac
chmod 0755 "$BIN/.cnr-cni.$$"
mv -f "$BIN/.cnr-cni.$$" "$BIN/cnr-cni"

# IPAM plugins cnr-cni delegates to, if the host has none
for p in host-local static; do
  [ -x "$BIN/$p" ] || { [ -x "/usr/lib/cni/$p" ] && cp "/usr/lib/cni/$p" "$BIN/.$p.$$" && mv -f "$BIN/.$p.$$" "$BIN/$p"; } || true
done

if [ "${CNI_INSTALL_CONFIG:-true}" = "true" ] && [ -f "$CONFIG_DIR/$CONF_NAME" ]; then
  cp "$CONFIG_DIR/$CONF_NAME" "$CONF/.$CONF_NAME.$$"
  mv -f "$CONF/.$CONF_NAME.$$" "$CONF/$CONF_NAME"
fi
echo "cnr-cni ($SHIM shim) installed in $BIN (Node plugin in $HOST_LIB/current -> $rel)"
