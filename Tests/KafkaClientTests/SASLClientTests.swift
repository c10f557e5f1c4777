import Testing

@testable import KafkaClient

@Suite("SASL client messages")
struct SASLClientTests {
    /// RFC 7677 section 3: the SCRAM-SHA-256 exchange of user "user" with password "pencil".
    @Test func scramSHA256MatchesRFC7677() throws {
        var client = SCRAMClient(
            hash: .sha256, username: "user", password: KafkaSecret("pencil"), clientNonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(client.clientFirstMessage == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let final = try client.clientFinalMessage(
            serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        #expect(
            final
                == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        )
        try client.verify(serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        #expect(throws: SCRAMClient.Failure.self) {
            try client.verify(serverFinal: "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        }
    }

    @Test func scramRefusesANonceThatDoesNotExtendOurs() {
        var client = SCRAMClient(hash: .sha512, username: "u", password: KafkaSecret("p"), clientNonce: "abc")
        #expect(throws: SCRAMClient.Failure.self) {
            _ = try client.clientFinalMessage(serverFirst: "r=xyz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        }
        #expect(throws: SCRAMClient.Failure.self) {
            _ = try client.clientFinalMessage(serverFirst: "r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100")
        }
    }

    @Test func scramEscapesTheUserName() {
        let client = SCRAMClient(hash: .sha256, username: "a=b,c", password: KafkaSecret("p"), clientNonce: "n")
        #expect(client.clientFirstMessage == "n,,n=a=3Db=2Cc,r=n")
    }

    @Test func plainSendsAuthzidUserAndPassword() throws {
        var exchange = SASLClientExchange(
            configuration: KafkaSASLConfiguration(mechanism: .plain, username: "alice", password: KafkaSecret("s3")))
        #expect(exchange.start() == [0] + Array("alice".utf8) + [0] + Array("s3".utf8))
        #expect(try exchange.receive([]) == .done)
    }

    @Test func base64RoundTrips() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Substring(Base64.encode(bytes))) == bytes)
        }
        #expect(Base64.encode(Array("pencil".utf8)) == "cGVuY2ls")
        #expect(Base64.decode("cGVuY2ls=") == nil)
        #expect(Base64.decode("cGVu*2ls") == nil)
    }
}
