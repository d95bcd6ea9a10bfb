# Produce throughput against record size: Sluice, Redis XADD (AOF everysec), NATS JetStream.
# Run by report.py with -e "dir='<results dir>'; out='<png>'"; reads <dir>/throughput.dat.
set terminal pngcairo size 1100,460 font ",10"
set output out
set multiplot layout 1,2 title "Produce throughput vs record size (same machine, same run)"
set logscale x 2
set xlabel "record size (bytes)"
set key top left
set grid
set logscale y 10
set ylabel "MB/s (payload)"
plot dir."/throughput.dat" using 1:2 with linespoints title "Sluice", \
     "" using 1:3 with linespoints title "Redis XADD", \
     "" using 1:4 with linespoints title "NATS JetStream"
set ylabel "records/s"
set key top right
plot dir."/throughput.dat" using 1:5 with linespoints title "Sluice", \
     "" using 1:6 with linespoints title "Redis XADD", \
     "" using 1:7 with linespoints title "NATS JetStream"
unset multiplot
