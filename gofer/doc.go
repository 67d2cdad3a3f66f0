// Package gofer is the Gofer: the process that holds a sandbox's root
// filesystem and bind mounts and serves them to the Sentry over 9P2000.L.
//
// The core (tree.go and friends) is a safe API over host file descriptors.
// A Tree is one served directory; a Node is one file in it, held as an
// O_PATH|O_NOFOLLOW descriptor together with its parent Node and its name.
// Nodes are only ever reached by walking one validated name at a time with
// openat(parent, name, O_PATH|O_NOFOLLOW): symlinks are returned as nodes of
// their own and never followed ("." and ".." and names with '/' or NUL are
// refused), so no walk can leave the tree. Symlink and ".." resolution is
// the client's job. Operations that need a real open file (I/O, truncate)
// re-open the node through its parent with O_NOFOLLOW and check that the
// opened file has the node's (device, inode), so a file swapped for a symlink
// or another file between walk and open is refused instead of followed.
// Attribute and ownership changes work on the O_PATH descriptor itself
// (AT_EMPTY_PATH), never on a path; xattrs go through an opened directory
// or the parent and name with AT_SYMLINK_NOFOLLOW. Renames move every Node
// of the renamed name (each directory Node keeps a registry of the Nodes
// walked from it); a Node whose name was replaced or removed meanwhile
// fails with ESTALE or ENOENT, never reaches another file. A read-only Tree refuses every
// mutation with EROFS (and the Gofer process additionally mounts it
// read-only). The Gofer acts with its own (root) identity: permission
// checks are the Sentry's, the Gofer only keeps every access inside its
// trees. Device nodes, sockets and FIFOs are never opened (EPERM) and
// cannot be created except FIFOs.
//
// server.go adapts the core to the p9 package's server interfaces; opened
// regular files are donated to the client so reads and writes skip the
// protocol. setup.go is the process side: Main is the body of the hidden
// `runsc gofer` subcommand (mount namespace, pivot_root into a tmpfs that
// holds only the trees, seccomp), and Start launches it from a parent.
package gofer
