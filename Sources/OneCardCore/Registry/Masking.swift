/// Masked forms shown by default; the full value needs a stated purpose and is audited.
public enum Mask {
    /// `110105********002X`: region kept, birth date and sequence hidden.
    public static func idNumber(_ v: String) -> String {
        guard v.count > 10 else { return String(repeating: "*", count: v.count) }
        return String(v.prefix(6)) + String(repeating: "*", count: v.count - 10) + String(v.suffix(4))
    }

    /// `王*梅`, `王*` for two characters; Latin names keep the first and last letter.
    public static func name(_ v: String) -> String {
        let c = Array(v)
        switch c.count {
        case 0: return ""
        case 1: return "*"
        case 2: return String(c[0]) + "*"
        default: return String(c[0]) + String(repeating: "*", count: c.count - 2) + String(c[c.count - 1])
        }
    }

    /// `138****5678`.
    public static func phone(_ v: String) -> String {
        guard v.count >= 7 else { return String(repeating: "*", count: v.count) }
        return String(v.prefix(3)) + String(repeating: "*", count: v.count - 7) + String(v.suffix(4))
    }

    /// A bank account: `6222 **** **** 1234` style, only the last four shown.
    public static func account(_ v: String) -> String {
        guard v.count > 4 else { return String(repeating: "*", count: v.count) }
        return String(repeating: "*", count: v.count - 4) + String(v.suffix(4))
    }
}
