/**
 * Linux constants for the calls in src/sys (x86-64 and arm64 values, which agree for all of
 * these): address families and socket types, socket options, packet sockets, netlink and
 * rtnetlink, interface ioctls, ethtool, mmap and open flags, errno values. Defined here once;
 * a constant only one driver needs (the AF_XDP ring offsets, the TPACKET status bits) stays
 * with that driver.
 */

// address families, socket types and flags (sys/socket.h)
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const AF_XDP = 44;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;
export const MSG_DONTWAIT = 0x40;

// socket options
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IP_TTL = 2;
export const IPV6_UNICAST_HOPS = 16;
export const TCP_MD5SIG = 14;

// packet sockets (linux/if_packet.h)
export const ETH_P_ALL = 0x0003;
/** 802.3 frames with an LLC header (a length, not an EtherType): IS-IS's OSI PDUs */
export const ETH_P_802_2 = 0x0004;
/** setsockopt(SOL_PACKET) and its struct packet_mreq type: receive a multicast MAC group */
export const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_MR_MULTICAST = 0;
export const SOL_PACKET = 263;
export const PACKET_RX_RING = 5;
export const PACKET_STATISTICS = 6;
export const PACKET_COPY_THRESH = 7;
export const PACKET_VERSION = 10;
export const PACKET_TX_RING = 13;
export const PACKET_LOSS = 14;
export const PACKET_VNET_HDR = 15;
export const PACKET_QDISC_BYPASS = 20;
export const PACKET_IGNORE_OUTGOING = 23;
export const TPACKET_V2 = 1;

// AF_XDP sockets (linux/if_xdp.h)
export const SOL_XDP = 283;

// netlink (linux/netlink.h)
export const NETLINK_ROUTE = 0;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NLMSG_ERROR = 2;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** in an NLMSG_ERROR: extended ACK attributes follow */
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;
export const NLA_F_NESTED = 0x8000;

// rtnetlink (linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h)
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
/** rtnetlink multicast group: link changes (RTM_NEWLINK / RTM_DELLINK) */
export const RTMGRP_LINK = 1;
export const RTM_NEWADDR = 20;
export const RTM_NEWROUTE = 24;
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;
export const IFLA_XDP = 43;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_XDP_FD = 1;
export const IFLA_XDP_FLAGS = 3;
export const IFLA_XDP_EXPECTED_FD = 8;
export const VETH_INFO_PEER = 1;
export const IFLA_VLAN_ID = 1;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_F_NODAD = 0x02;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RTN_UNICAST = 1;

// interfaces: ioctls on a socket with a struct ifreq (linux/sockios.h, net/if.h)
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const SIOCGIFMTU = 0x8921;
export const SIOCSIFHWADDR = 0x8924;
export const SIOCGIFHWADDR = 0x8927;
export const SIOCETHTOOL = 0x8946;
export const IFF_UP = 0x1;
/** the kernel neither sends nor answers ARP on the link */
export const IFF_NOARP = 0x80;
/** the link has carrier (operationally up) */
export const IFF_RUNNING = 0x40;
export const IFNAMSIZ = 16;
export const IFREQ_SIZE = 40;
export const TUNSETIFF = 0x400454ca;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
/** each frame read or written on the TAP starts with a struct virtio_net_hdr (GSO and checksum offload information) */
export const IFF_VNET_HDR = 0x4000;
/** the offloads the TAP's reader takes (linux/if_tun.h): the kernel then hands it partial checksums and TCP super-frames */
export const TUNSETOFFLOAD = 0x400454d0;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;

// ethtool commands (linux/ethtool.h)
export const ETHTOOL_STXCSUM = 0x17;
export const ETHTOOL_STSO = 0x1f;
export const ETHTOOL_GSTRINGS = 0x1b;
export const ETHTOOL_GSSET_INFO = 0x37;
export const ETHTOOL_SFEATURES = 0x3b;
/** the string set naming the netdev feature bits (ETHTOOL_GSTRINGS), 32 bytes a name */
export const ETH_SS_FEATURES = 4;
export const ETH_GSTRING_LEN = 32;
export const ETHTOOL_GCHANNELS = 0x3c;

// namespaces (sched.h)
export const CLONE_NEWNET = 0x40000000;

// memory and files (sys/mman.h, fcntl.h, poll.h, sys/eventfd.h)
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_RW = PROT_READ | PROT_WRITE;
export const MAP_SHARED = 1;
/** MAP_PRIVATE | MAP_ANONYMOUS */
export const MAP_PRIVATE_ANON = 0x02 | 0x20;
export const MAP_POPULATE = 0x8000;
export const MADV_HUGEPAGE = 14;
export const O_RDWR = 2;
export const O_NONBLOCK = 0x800;
export const O_CLOEXEC = 0x80000;
export const POLLIN = 1;
export const EFD_NONBLOCK = 0x800;
export const EFD_CLOEXEC = 0x80000;

// processes (sys/wait.h, spawn.h)
export const WNOHANG = 1;
export const POSIX_SPAWN_SETSIGDEF = 0x04;
export const POSIX_SPAWN_SETSIGMASK = 0x08;

// errno values
export const EINTR = 4;
export const EAGAIN = 11;
export const EBUSY = 16;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ERANGE = 34;
export const ENOBUFS = 105;

// unix sockets, descriptor passing and sealed memory (memif: sys/un.h, sys/socket.h, sys/memfd.h, sys/epoll.h)
export const AF_UNIX = 1;
export const SOCK_SEQPACKET = 5;
export const SCM_RIGHTS = 1;
export const MSG_TRUNC = 0x20;
export const MSG_CTRUNC = 0x08;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const SUN_PATH_MAX = 108;
export const MFD_CLOEXEC = 1;
export const MFD_ALLOW_SEALING = 2;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SHRINK = 2;
export const SEEK_END = 2;
export const EPOLL_CLOEXEC = 0x80000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLLIN = 1;
