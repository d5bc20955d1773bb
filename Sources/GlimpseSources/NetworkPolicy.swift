import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which hosts a list may make the indexer contact. By default only public addresses: a list (written by anyone)
/// must not be able to make the indexer probe the machine it runs on or its internal network (SSRF). Every
/// address a host resolves to is checked, and every redirect hop again.
///
/// Known limit: the address is checked when resolved here and the HTTP client resolves again when it connects,
/// so a DNS server that answers differently the second time (DNS rebinding) could still reach a private address.
public struct NetworkPolicy: Sendable {
    public var allowPrivateNetwork: Bool

    public init(allowPrivateNetwork: Bool = false) { self.allowPrivateNetwork = allowPrivateNetwork }

    /// Throws `SourceError.privateAddress` when `host` is or resolves to a refused address.
    public func check(host: String) throws {
        guard !allowPrivateNetwork else { return }
        for address in try Self.resolve(host) where Self.isPrivate(address) {
            throw SourceError.privateAddress(host: host, address: Self.format(address))
        }
    }

    /// The addresses of `host` (16 bytes for IPv6, 4 for IPv4).
    static func resolve(_ host: String) throws -> [[UInt8]] {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &result)
        guard status == 0, let first = result else {
            throw SourceError.cannotResolve(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if info.pointee.ai_family == AF_INET, let sa = info.pointee.ai_addr {
                sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin_addr) { addresses.append(Array($0)) }
                }
            } else if info.pointee.ai_family == AF_INET6, let sa = info.pointee.ai_addr {
                sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { addresses.append(Array($0)) }
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// Loopback, private (RFC 1918, unique local), link-local, carrier-grade NAT, unspecified, multicast,
    /// benchmarking and reserved ranges; IPv4 inside IPv6 (mapped, NAT64) is judged by its IPv4 address.
    public static func isPrivate(_ a: [UInt8]) -> Bool {
        if a.count == 4 {
            switch (a[0], a[1]) {
            case (0, _), (10, _), (127, _): return true
            case (100, 64...127): return true
            case (169, 254): return true
            case (172, 16...31): return true
            case (192, 168): return true
            case (192, 0) where a[2] == 0: return true
            case (198, 18...19): return true
            case (224...255, _): return true
            default: return false
            }
        }
        guard a.count == 16 else { return true }
        if a.allSatisfy({ $0 == 0 }) { return true }                                   // ::
        if a[0..<15].allSatisfy({ $0 == 0 }) && a[15] == 1 { return true }             // ::1
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xFF && a[11] == 0xFF { return isPrivate(Array(a[12..<16])) }  // ::ffff:a.b.c.d
        if a[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return isPrivate(Array(a[12..<16])) }      // 64:ff9b::/96
        if a[0] & 0xFE == 0xFC { return true }                                          // fc00::/7
        if a[0] == 0xFE && a[1] & 0xC0 == 0x80 { return true }                          // fe80::/10
        if a[0] == 0xFF { return true }                                                 // multicast
        return false
    }

    static func format(_ a: [UInt8]) -> String {
        if a.count == 4 { return a.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: a.count, by: 2).map { String(UInt16(a[$0]) << 8 | UInt16(a[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}
