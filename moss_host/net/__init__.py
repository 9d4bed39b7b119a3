"""The socket layer (Linux's net/socket.c and its protocol families).

    socket.py   the Socket base every family's sockets derive from (an OpenFile with socket
                operations), the SOL_SOCKET options they share, the family table
    scm.py      ancillary data: SCM_RIGHTS and SCM_CREDENTIALS in and out of a msghdr's control buffer
    unix.py     AF_UNIX: stream, datagram and seqpacket sockets, the filesystem and abstract
                namespaces, /proc/net/unix

A layer between tty and sched: it uses the VFS (a bound AF_UNIX socket is a node in the
filesystem) and wait queues, and knows no task: the syscalls hand it a `Who`, the calling
process as a socket sees it. syscalls/socket.py decodes the arguments.
"""
