// Golden-byte tests for the WebSocket codec: RFC 6455 examples (section 5.7, 1.3, 4.1/4.2.2),
// boundaries of the length encodings and a table of malformed frames and handshakes.
#include "net/ws_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mq::net::ws {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes encode(const FrameHeader& h) {
  std::array<uint8_t, kMaxFrameHeaderSize> buf{};
  size_t n = encode_frame_header(h, buf);
  return Bytes(buf.begin(), buf.begin() + long(n));
}

TEST(WsFrame, ParsesRfcUnmaskedText) {
  // RFC 6455 5.7: a single-frame unmasked text message containing "Hello".
  const Bytes wire = {0x81,                           // FIN=1, RSV=000, opcode 1 (text)
                      0x05,                           // MASK=0, payload length 5
                      0x48, 0x65, 0x6c, 0x6c, 0x6f};  // "Hello"
  FrameHeader h;
  Result<size_t> r = parse_frame_header(wire, h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2u);
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.rsv, 0);
  EXPECT_EQ(h.opcode, uint8_t(Opcode::kText));
  EXPECT_FALSE(h.masked);
  EXPECT_EQ(h.payload_length, 5u);
  EXPECT_EQ(encode(h), Bytes(wire.begin(), wire.begin() + 2));
}

TEST(WsFrame, ParsesAndUnmasksRfcMaskedText) {
  // RFC 6455 5.7: a single-frame masked text message containing "Hello".
  Bytes wire = {0x81,                           // FIN=1, opcode 1 (text)
                0x85,                           // MASK=1, payload length 5
                0x37, 0xfa, 0x21, 0x3d,         // masking key
                0x7f, 0x9f, 0x4d, 0x51, 0x58};  // "Hello" XOR key
  FrameHeader h;
  Result<size_t> r = parse_frame_header(wire, h);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, 6u);
  EXPECT_TRUE(h.masked);
  EXPECT_EQ(h.mask_key, (std::array<uint8_t, 4>{0x37, 0xfa, 0x21, 0x3d}));
  apply_mask(wire.data() + 6, 5, h.mask_key, 0);
  EXPECT_EQ(std::string(wire.begin() + 6, wire.end()), "Hello");
  EXPECT_EQ(encode(h), Bytes(wire.begin(), wire.begin() + 6));
}

TEST(WsFrame, RfcFragmentsPingAndLengths) {
  FrameHeader h;
  // 5.7 fragmented text: 0x01 0x03 "Hel" (FIN=0, text), 0x80 0x02 "lo" (FIN=1, continuation).
  ASSERT_EQ(*parse_frame_header(Bytes{0x01, 0x03}, h), 2u);
  EXPECT_FALSE(h.fin);
  EXPECT_EQ(h.opcode, uint8_t(Opcode::kText));
  ASSERT_EQ(*parse_frame_header(Bytes{0x80, 0x02}, h), 2u);
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.opcode, uint8_t(Opcode::kContinuation));
  // 5.7 unmasked ping "Hello": 0x89 0x05.
  ASSERT_EQ(*parse_frame_header(Bytes{0x89, 0x05}, h), 2u);
  EXPECT_EQ(h.opcode, uint8_t(Opcode::kPing));
  // 5.7: 256 bytes binary: 0x82 0x7E 0x0100 (16-bit extended length).
  const Bytes b256 = {0x82, 0x7e, 0x01, 0x00};
  ASSERT_EQ(*parse_frame_header(b256, h), 4u);
  EXPECT_EQ(h.payload_length, 256u);
  EXPECT_EQ(encode(h), b256);
  // 5.7: 64 KiB binary: 0x82 0x7F then the 64-bit length 0x0000000000010000.
  const Bytes b64k = {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
  ASSERT_EQ(*parse_frame_header(b64k, h), 10u);
  EXPECT_EQ(h.payload_length, 65536u);
  EXPECT_EQ(encode(h), b64k);
}

TEST(WsFrame, MinimalLengthEncodingAtBoundaries) {
  struct Case {
    uint64_t len;
    size_t header_size;
  } cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {(uint64_t(1) << 63) - 1, 10}};
  for (const Case& c : cases) {
    FrameHeader h;
    h.opcode = uint8_t(Opcode::kBinary);
    h.payload_length = c.len;
    Bytes wire = encode(h);
    EXPECT_EQ(wire.size(), c.header_size) << c.len;
    h.masked = true;
    h.mask_key = {1, 2, 3, 4};
    wire = encode(h);
    EXPECT_EQ(wire.size(), c.header_size + 4) << c.len;
    FrameHeader back;
    ASSERT_EQ(*parse_frame_header(wire, back), wire.size());
    EXPECT_EQ(back, h);
  }
}

TEST(WsFrame, PartialHeadersNeedMoreAtEveryLength) {
  const Bytes wire = {0x82, 0xff, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 9, 8, 7, 6};  // 64-bit, masked
  for (size_t n = 0; n < wire.size(); ++n) {
    FrameHeader h;
    Result<size_t> r = parse_frame_header(std::span<const uint8_t>(wire.data(), n), h);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0u) << n;
  }
  FrameHeader h;
  EXPECT_EQ(*parse_frame_header(wire, h), 14u);
}

TEST(WsFrame, NonMinimalLengthIsAcceptedTopBitIsNot) {
  FrameHeader h;
  ASSERT_EQ(*parse_frame_header(Bytes{0x82, 0x7e, 0x00, 0x05}, h), 4u);  // 5 in 16 bits
  EXPECT_EQ(h.payload_length, 5u);
  // 5.2: "the most significant bit MUST be 0".
  EXPECT_FALSE(parse_frame_header(Bytes{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1}, h).ok());
}

TEST(WsFrame, CheckFrameHeaderTable) {
  auto hdr = [](uint8_t b0, uint64_t len, bool masked) {
    FrameHeader h;
    h.fin = (b0 & 0x80) != 0;
    h.rsv = (b0 >> 4) & 7;
    h.opcode = b0 & 0x0f;
    h.payload_length = len;
    h.masked = masked;
    return h;
  };
  const FrameCheck server{Role::kServer, false, 1000};
  const FrameCheck server_in_msg{Role::kServer, true, 1000};
  const FrameCheck client{Role::kClient, false, 1000};
  struct Case {
    const char* what;
    FrameHeader h;
    FrameCheck c;
    CloseCode want;
  } cases[] = {
      {"binary to server", hdr(0x82, 10, true), server, CloseCode::kNone},
      {"binary to client", hdr(0x82, 10, false), client, CloseCode::kNone},
      {"first fragment", hdr(0x02, 10, true), server, CloseCode::kNone},
      {"continuation", hdr(0x80, 10, true), server_in_msg, CloseCode::kNone},
      {"ping inside a message", hdr(0x89, 0, true), server_in_msg, CloseCode::kNone},
      {"RSV1", hdr(0xc2, 1, true), server, CloseCode::kProtocolError},
      {"RSV3", hdr(0x92, 1, true), server, CloseCode::kProtocolError},
      {"opcode 3", hdr(0x83, 1, true), server, CloseCode::kProtocolError},
      {"opcode 7", hdr(0x87, 1, true), server, CloseCode::kProtocolError},
      {"opcode B", hdr(0x8b, 1, true), server, CloseCode::kProtocolError},
      {"opcode F", hdr(0x8f, 1, true), server, CloseCode::kProtocolError},
      {"fragmented ping", hdr(0x09, 1, true), server, CloseCode::kProtocolError},
      {"close of 126 bytes", hdr(0x88, 126, true), server, CloseCode::kProtocolError},
      {"ping of 125 bytes", hdr(0x89, 125, true), server, CloseCode::kNone},
      {"unmasked to server", hdr(0x82, 1, false), server, CloseCode::kProtocolError},
      {"masked to client", hdr(0x82, 1, true), client, CloseCode::kProtocolError},
      {"continuation, no message", hdr(0x80, 1, true), server, CloseCode::kProtocolError},
      {"binary inside a message", hdr(0x82, 1, true), server_in_msg, CloseCode::kProtocolError},
      {"text", hdr(0x81, 1, true), server, CloseCode::kUnsupportedData},
      {"too big", hdr(0x82, 1001, true), server, CloseCode::kMessageTooBig},
      {"at the limit", hdr(0x82, 1000, true), server, CloseCode::kNone},
  };
  for (const Case& c : cases) EXPECT_EQ(check_frame_header(c.h, c.c), c.want) << c.what;
}

TEST(WsFrame, MaskingInPiecesEqualsMaskingAtOnce) {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 7);
  const std::array<uint8_t, 4> key = {0xde, 0xad, 0xbe, 0xef};
  std::vector<uint8_t> whole = data;
  apply_mask(whole.data(), whole.size(), key, 0);
  for (size_t i = 0; i < data.size(); ++i) ASSERT_EQ(whole[i], data[i] ^ key[i % 4]) << i;
  for (size_t step : {1u, 3u, 7u, 13u, 64u}) {
    std::vector<uint8_t> pieces = data;
    for (size_t off = 0; off < pieces.size(); off += step) {
      apply_mask(pieces.data() + off, std::min(step, pieces.size() - off), key, off);
    }
    EXPECT_EQ(pieces, whole) << step;
  }
}

TEST(WsFrame, ClosePayloads) {
  Result<ClosePayload> empty = parse_close_payload({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->code, CloseCode::kNone);
  const Bytes normal = {0x03, 0xe8, 'b', 'y', 'e'};  // 1000 "bye"
  Result<ClosePayload> p = parse_close_payload(normal);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->code, CloseCode::kNormal);
  EXPECT_EQ(p->reason, "bye");
  EXPECT_TRUE(parse_close_payload(Bytes{0x0b, 0xb8}).ok());  // 3000
  EXPECT_TRUE(parse_close_payload(Bytes{0x13, 0x87}).ok());  // 4999
  for (uint16_t bad : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    Result<ClosePayload> r = parse_close_payload(Bytes{uint8_t(bad >> 8), uint8_t(bad)});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(close_code_for(r.error()), CloseCode::kProtocolError) << bad;
  }
  Result<ClosePayload> one = parse_close_payload(Bytes{0x03});
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(close_code_for(one.error()), CloseCode::kProtocolError);
  Result<ClosePayload> bad_utf8 = parse_close_payload(Bytes{0x03, 0xe8, 0xc0, 0xaf});
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_EQ(close_code_for(bad_utf8.error()), CloseCode::kInvalidPayload);
}

TEST(WsFrame, Utf8Validation) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // U+D800 surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated
}

TEST(WsHandshake, RfcAcceptKey) {
  // RFC 6455 section 1.3 (and 4.2.2). A base64 SHA-1 is 28 characters: the 24-character value
  // "s3pPLMBiTxaQ9kYGzzo+xOo=" sometimes quoted drops "hZRbK".
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

constexpr const char* kRfcRequest =  // RFC 6455 section 1.2, plus our subprotocol
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

TEST(WsHandshake, ParsesRfcRequest) {
  std::string_view req(kRfcRequest);
  EXPECT_EQ(find_header_end(req), req.size());
  EXPECT_EQ(find_header_end(req.substr(0, req.size() - 1)), std::string_view::npos);
  Result<UpgradeRequest> r = parse_upgrade_request(req);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->target, "/chat");
  EXPECT_EQ(r->host, "server.example.com");
  EXPECT_EQ(r->key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(r->origin, "http://example.com");
  EXPECT_EQ(r->subprotocol, "");  // neither "chat" nor "superchat" is ours
  EXPECT_EQ(r->forwarded_for, "");
}

TEST(WsHandshake, ChoosesMqttSubprotocolsInClientOrder) {
  auto choose = [](std::string protocol_lines) {
    std::string req =
        "GET /mqtt HTTP/1.1\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade"
        "\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13"
        "\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n" +
        protocol_lines + "\r\n";
    Result<UpgradeRequest> r = parse_upgrade_request(req);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
    if (r.ok()) {
      EXPECT_EQ(r->forwarded_for, "10.0.0.1, 10.0.0.2");
    }
    return r.ok() ? std::string(r->subprotocol) : std::string("?");
  };
  EXPECT_EQ(choose(""), "");
  EXPECT_EQ(choose("Sec-WebSocket-Protocol: mqtt\r\n"), "mqtt");
  EXPECT_EQ(choose("Sec-WebSocket-Protocol: mqttv3.1\r\n"), "mqttv3.1");
  EXPECT_EQ(choose("Sec-WebSocket-Protocol: chat, mqttv3.1 , mqtt\r\n"), "mqttv3.1");
  EXPECT_EQ(choose("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: mqtt\r\n"), "mqtt");
  EXPECT_EQ(choose("Sec-WebSocket-Protocol: MQTT\r\n"), "");  // tokens compare exactly
}

TEST(WsHandshake, MalformedRequestsTable) {
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string base_hdrs = "Upgrade: websocket\r\nConnection: Upgrade\r\n" + key;
  const std::string v13 = "Sec-WebSocket-Version: 13\r\n";
  struct Case {
    const char* what;
    std::string req;
    int status;
  } cases[] = {
      {"POST", "POST / HTTP/1.1\r\n" + base_hdrs + v13 + "\r\n", 400},
      {"HTTP/1.0", "GET / HTTP/1.0\r\n" + base_hdrs + v13 + "\r\n", 400},
      {"no version in request line", "GET /\r\n" + base_hdrs + v13 + "\r\n", 400},
      {"extra space", "GET  / HTTP/1.1\r\n" + base_hdrs + v13 + "\r\n", 400},
      {"no Upgrade", "GET / HTTP/1.1\r\nConnection: Upgrade\r\n" + key + v13 + "\r\n", 400},
      {"Upgrade: h2c",
       "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" + key + v13 + "\r\n", 400},
      {"no Connection", "GET / HTTP/1.1\r\nUpgrade: websocket\r\n" + key + v13 + "\r\n", 400},
      {"Connection: close",
       "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: close\r\n" + key + v13 + "\r\n", 400},
      {"no key", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + v13 + "\r\n",
       400},
      {"short key",
       "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: abc=\r\n" +
           v13 + "\r\n",
       400},
      {"key twice", "GET / HTTP/1.1\r\n" + base_hdrs + key + v13 + "\r\n", 400},
      {"no version", "GET / HTTP/1.1\r\n" + base_hdrs + "\r\n", 400},
      {"version 8", "GET / HTTP/1.1\r\n" + base_hdrs + "Sec-WebSocket-Version: 8\r\n\r\n", 426},
      {"folded line", "GET / HTTP/1.1\r\n" + base_hdrs + v13 + " folded\r\n\r\n", 400},
      {"no colon", "GET / HTTP/1.1\r\n" + base_hdrs + v13 + "Bogus\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\n" + base_hdrs + v13 + "Host : x\r\n\r\n", 400},
      {"control character",
       "GET / HTTP/1.1\r\n" + base_hdrs + v13 +
           "Host: a\x01"
           "b\r\n\r\n",
       400},
      {"empty", "\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    Result<UpgradeRequest> r = parse_upgrade_request(c.req);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(http_status_for(r.error()), c.status) << c.what << ": " << r.error().to_string();
  }
}

TEST(WsHandshake, OriginList) {
  const std::vector<std::string> allowed = {"https://app.example.com", "http://localhost:8080"};
  EXPECT_TRUE(origin_allowed("", {}));
  EXPECT_TRUE(origin_allowed("http://evil.example", {}));
  EXPECT_TRUE(origin_allowed("https://APP.example.com", allowed));
  EXPECT_FALSE(origin_allowed("https://app.example.com.evil", allowed));
  EXPECT_FALSE(origin_allowed("", allowed));
}

TEST(WsHandshake, ServerResponsesGolden) {
  EXPECT_EQ(build_upgrade_response("dGhlIHNhbXBsZSBub25jZQ==", "mqtt"),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: mqtt\r\n"
            "\r\n");
  EXPECT_EQ(build_upgrade_response("dGhlIHNhbXBsZSBub25jZQ==", "").find("Sec-WebSocket-Protocol"),
            std::string::npos);
  EXPECT_EQ(build_error_response(403),
            "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(build_error_response(426),  // 4.4: name the versions we understand
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
            "Connection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(build_error_response(431).rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0),
            0u);
}

TEST(WsHandshake, ClientRequestGoldenAndKey) {
  EXPECT_EQ(
      build_client_request("broker.example", 8080, "/mqtt", "dGhlIHNhbXBsZSBub25jZQ==", "mqtt"),
      "GET /mqtt HTTP/1.1\r\n"
      "Host: broker.example:8080\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: mqtt\r\n"
      "\r\n");
  std::string v6 = build_client_request("::1", 9001, "", "k", "");
  EXPECT_NE(v6.find("GET / HTTP/1.1\r\nHost: [::1]:9001\r\n"), std::string::npos);
  EXPECT_EQ(v6.find("Protocol"), std::string::npos);
  std::string k1 = make_client_key(), k2 = make_client_key();
  EXPECT_EQ(k1.size(), 24u);
  EXPECT_NE(k1, k2);
  // Our own parser accepts what our client sends.
  std::string req = build_client_request("h", 1, "/mqtt", k1, "mqtt");
  Result<UpgradeRequest> r = parse_upgrade_request(req);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->subprotocol, "mqtt");
}

TEST(WsHandshake, ClientValidatesResponse) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  const std::string ok = build_upgrade_response(key, "mqtt");
  Result<std::string> r = validate_upgrade_response(ok, key, "mqtt");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, "mqtt");
  r = validate_upgrade_response(build_upgrade_response(key, ""), key, "mqtt");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");

  auto error_of = [&](const std::string& head) {
    Result<std::string> v = validate_upgrade_response(head, key, "mqtt");
    return v.ok() ? std::string("accepted") : v.error().context;
  };
  EXPECT_EQ(error_of("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
            "server answered HTTP 404 Not Found");
  EXPECT_EQ(error_of("HTTP/1.1 200\r\n\r\n"), "server answered HTTP 200");
  EXPECT_EQ(error_of(build_upgrade_response("x3JJHMbDL1EzLkh9GBhXDw==", "mqtt")),
            "bad Sec-WebSocket-Accept");
  EXPECT_EQ(error_of("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
            "response lacks Upgrade: websocket");
  EXPECT_NE(error_of(build_upgrade_response(key, "mqttv3.1")).find("not offered"),
            std::string::npos);
  std::string ext = ok;
  ext.insert(ext.size() - 2, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  EXPECT_NE(error_of(ext).find("extension"), std::string::npos);
  EXPECT_EQ(error_of("SSH-2.0-OpenSSH\r\n\r\n"), "malformed HTTP status line");
}

}  // namespace
}  // namespace mq::net::ws
