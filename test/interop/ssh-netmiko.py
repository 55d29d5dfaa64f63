#!/usr/bin/python3
"""netmiko's juniper_junos driver against cnr's CLI over SSH (ssh-netmiko.test.ts runs this).
Each printed line is `<check> <value>`; the test asserts the values."""
import sys
from netmiko import ConnectHandler

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
dev = ConnectHandler(device_type="juniper_junos", host="127.0.0.1", port=port, username=user,
                     password=password, timeout=20, banner_timeout=10, auth_timeout=10)
print("prompt", dev.find_prompt())
out = dev.send_command("show route")
print("show_route", "192.0.2.0/24" in out, "show route" not in out)
out = dev.send_config_set(["set system domain-name netmiko.example",
                           "set routing-options static route 198.51.100.0/24 discard"])
print("config_set", "error" not in out.lower())
out = dev.commit(comment="from netmiko")
print("commit", "commit complete" in out)
dev.exit_config_mode()
print("config_mode_after", dev.check_config_mode())
out = dev.send_command("show configuration routing-options static | display set")
print("running", out.strip().replace("\n", "|"))
out = dev.send_command("show configuration | display set | match domain-name | count")
print("count", out.strip())
out = dev.send_command("show system commit")
print("history", "via ssh" in out and "from netmiko" in out)
dev.disconnect()
print("done", True)
