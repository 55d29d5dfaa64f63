# PyEZ (python3-junos-eznc) against cnr: run by netconf-pyez.test.ts as
#   /usr/bin/python3 netconf-pyez.py PORT USER PASSWORD
# Prints one "name value" line per check; the test asserts them.
import sys
import os
import yaml
from jnpr.junos import Device
from jnpr.junos.utils.config import Config
from jnpr.junos.exception import CommitError, ConfigLoadError, RpcError

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
dev = Device(host='127.0.0.1', port=port, user=user, passwd=password, gather_facts=True)
dev.open()
f = dev.facts
print('facts', f['hostname'], f['version'], f['model'], f['serialnumber'] is not None, f['RE0']['status'] if f['RE0'] else None)
print('version_info', f['version_info'].major, f['version_info'].type)

cu = Config(dev)
cu.lock()
cu.load('set system domain-name pyez.example', format='set')
print('diff_set', (cu.diff() or '').strip().replace('\n', '|'))
print('commit_check', cu.commit_check())
print('commit', cu.commit(comment='from pyez'))
print('diff_none', cu.diff())
cu.load('routing-options { static { route 198.51.100.0/24 discard; } }', format='text', merge=True)
print('commit_confirm', cu.commit(comment='confirmed from pyez', confirm=2))
print('commit_again', cu.commit())
try:
    cu.load('set system no-such-thing 1', format='set')
    print('bad_load accepted')
except ConfigLoadError as e:
    print('bad_load refused')
except RpcError as e:
    print('bad_load refused')
# rollback 0 is commit_again, 1 the confirmed commit (same tree), 2 the one before the static route
cu.rollback(2)
print('rollback_diff', (cu.diff() or '').strip().replace('\n', '|'))
cu.commit(comment='rolled back')
cu.unlock()

rt = dev.rpc.get_route_information()
dests = [d.text for d in rt.findall('.//rt-destination')]
print('routes', '198.51.100.0/24' in dests, '192.0.2.0/24' in dests)
# PyEZ's own RouteTable view (its routes.yml; PyYAML 6 needs safe_load)
from jnpr.junos.factory.factory_loader import FactoryLoader
import jnpr.junos.op as op
defs = yaml.safe_load(open(os.path.join(os.path.dirname(op.__file__), 'routes.yml')))
RouteTable = FactoryLoader().load(defs)['RouteTable']
tbl = RouteTable(dev).get()
print('route_table', '192.0.2.0/24' in tbl.keys(), tbl['192.0.2.0/24'].protocol if '192.0.2.0/24' in tbl.keys() else None)
bgp = dev.rpc.get_bgp_summary_information()
print('bgp_summary', bgp.findtext('.//peer-address'), bgp.findtext('.//peer-state'))
ifs = dev.rpc.get_interface_information(terse=True)
print('interfaces', ifs.findtext('.//physical-interface/name'))
up = dev.rpc.get_system_uptime_information()
print('uptime', up.find('.//system-booted-time/date-time') is not None)
# RFC 6241 <get> through PyEZ's ncclient session: configuration and state
data = dev._conn.get().data_xml
print('get_state', 'interface-information' in data, 'route-summary-information' in data, '<host-name>pyez-r1</host-name>' in data)
only = dev._conn.get(filter=('subtree', '<interface-information/>')).data_xml
print('get_filtered', 'interface-information' in only, 'host-name' in only)
summary = dev.rpc.get_route_summary_information()
print('route_summary', summary.findtext('.//route-table/table-name'), summary.find('.//protocols/protocol-name') is not None)
out = dev.cli('show bgp summary', warning=False)
print('cli', 'Peers:' in out)
dev.close()
