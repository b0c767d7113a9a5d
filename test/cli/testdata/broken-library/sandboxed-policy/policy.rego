package isms.library.sandboxed_policy

violation contains {"msg": "remote says no"} if {
	http.send({"method": "GET", "url": "https://example.com"}).status_code != 200
}
