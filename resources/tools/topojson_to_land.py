#!/usr/bin/env python3
"""Convert world-atlas' land-110m.json (TopoJSON) into resources/map/land-110m.bin.

Run once, by hand, when the map data changes:

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python3 resources/tools/topojson_to_land.py package/land-110m.json resources/map/land-110m.bin

Output format (little-endian), read by Meridian::WorldMap (ui/worldmap.cpp):
    4 bytes  magic "MLND"
    u16      version = 1
    u32      ring count
    per ring:
        u32  point count
        per point: i16 longitude * 100, i16 latitude * 100   (0.01 degree steps)
Rings are closed (the last point repeats the first) outer boundaries and holes of the land
polygons, cut at the antimeridian (Antarctica is closed along the South Pole), so that every
longitude lies in [-180, 180]; fill them with the odd-even rule.
"""
import json
import struct
import sys


def decode_arcs(topology):
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for position in arc:
            if transform:
                x += position[0]
                y += position[1]
                sx, sy = transform["scale"]
                tx, ty = transform["translate"]
                points.append((x * sx + tx, y * sy + ty))
            else:
                points.append((position[0], position[1]))
        arcs.append(points)
    return arcs


def ring_points(ring, arcs):
    points = []
    for index in ring:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc if not points else arc[1:])
    return points


def unwrap(points):
    """Makes longitudes continuous across the antimeridian (they may leave [-180, 180])."""
    out = [points[0]]
    for lon, lat in points[1:]:
        prev = out[-1][0]
        while lon - prev > 180:
            lon -= 360
        while lon - prev < -180:
            lon += 360
        out.append((lon, lat))
    return out


def clip(points, limit, keep_below):
    """Sutherland-Hodgman clip of a closed ring against the line lon = limit."""
    def inside(p):
        return p[0] <= limit if keep_below else p[0] >= limit

    out = []
    for i, current in enumerate(points):
        previous = points[i - 1]
        if inside(current):
            if not inside(previous):
                out.append(cross(previous, current, limit))
            out.append(current)
        elif inside(previous):
            out.append(cross(previous, current, limit))
    return out


def cross(a, b, limit):
    t = (limit - a[0]) / (b[0] - a[0])
    return (limit, a[1] + t * (b[1] - a[1]))


def split_at_antimeridian(points):
    """Rings crossing the antimeridian become one ring per side; a ring around a pole (its
    longitudes wind once around the globe) is closed along that pole first."""
    ring = unwrap(points)
    if abs(ring[-1][0] - ring[0][0]) > 180:
        pole = -90.0 if sum(p[1] for p in ring) < 0 else 90.0
        ring = ring + [(ring[-1][0], pole), (ring[0][0], pole)]
    pieces = []
    for shift in (-360, 0, 360):
        shifted = [(lon + shift, lat) for lon, lat in ring]
        piece = clip(clip(shifted, 180.0, True), -180.0, False)
        if len(piece) >= 3:
            pieces.append(piece + [piece[0]])
    return pieces


def polygons(geometry):
    if geometry["type"] == "Polygon":
        yield geometry["arcs"]
    elif geometry["type"] == "MultiPolygon":
        yield from geometry["arcs"]
    elif geometry["type"] == "GeometryCollection":
        for child in geometry["geometries"]:
            yield from polygons(child)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: topojson_to_land.py land-110m.json land-110m.bin")
    with open(sys.argv[1], encoding="utf-8") as f:
        topology = json.load(f)
    arcs = decode_arcs(topology)
    rings = []
    for polygon in polygons(topology["objects"]["land"]):
        for ring in polygon:
            for piece in split_at_antimeridian(ring_points(ring, arcs)):
                points = []
                for lon, lat in piece:
                    q = (round(lon * 100), round(lat * 100))
                    if not points or points[-1] != q:  # drop repeats after quantisation
                        points.append(q)
                if len(points) >= 4:
                    rings.append(points)
    out = bytearray(b"MLND")
    out += struct.pack("<HI", 1, len(rings))
    for points in rings:
        out += struct.pack("<I", len(points))
        for lon, lat in points:
            out += struct.pack("<hh", lon, lat)
    with open(sys.argv[2], "wb") as f:
        f.write(out)
    print(f"{len(rings)} rings, {sum(len(r) for r in rings)} points, {len(out)} bytes")


if __name__ == "__main__":
    main()
