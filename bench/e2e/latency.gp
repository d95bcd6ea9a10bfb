# End-to-end latency percentiles against offered load (1 KiB records, open-loop producer).
# Run by report.py with -e "dir='<results dir>'; out='<png>'"; reads <dir>/latency.dat.
set terminal pngcairo size 800,500 font ",10"
set output out
set title "Sluice end-to-end latency vs offered load (1 KiB records)"
set xlabel "offered load (records/s)"
set ylabel "latency (us)"
set logscale y 10
set key top left
set grid
plot dir."/latency.dat" using 1:2 with linespoints title "e2e p50", \
     "" using 1:3 with linespoints title "e2e p99", \
     "" using 1:4 with linespoints title "e2e p99.9", \
     "" using 1:5 with linespoints title "e2e max", \
     "" using 1:6 with linespoints dt 2 title "produce p99"
