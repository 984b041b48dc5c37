; The example.com zone as an admin keeps it. torpub adds one marked block
; at the end and raises the serial; it changes nothing else in this file.
$ORIGIN example.com.
$TTL 3600
@           IN SOA  ns1.example.com. hostmaster.example.com. (
                    2026010101 ; serial (YYYYMMDDnn)
                    7200       ; refresh
                    3600       ; retry
                    1209600    ; expire
                    300 )      ; negative-cache TTL
            IN NS   ns1.example.com.
ns1         IN A    192.0.2.53
downloads   IN A    192.0.2.80
www         IN CNAME downloads
_dmarc      IN TXT  "v=DMARC1; p=none"
