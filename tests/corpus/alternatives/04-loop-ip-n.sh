# lesson: 04-bridge
# Everything rebuilt in a loop with `ip -n`, ports plugged and raised in one command.
ip link del veth0; ip link del veth1
ip netns del netns0; ip netns del netns1
ip netns add netns0; ip netns add netns1
ip link add br0 type bridge && ip link set dev br0 up
for i in 0 1; do
  ip link add veth$i type veth peer name ceth$i netns netns$i
  ip link set veth$i master br0 up
  ip -n netns$i link set lo up
  ip -n netns$i link set ceth$i up
  ip -n netns$i addr add 172.18.0.$((i * 10 + 10))/16 dev ceth$i
done
