/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maplefuzz kernel VMA engine: vm_area_alloc(), vm_area_dup() and
 * vm_area_free() as mm/vma.c calls them: one allocation point each for the
 * first two, and the count of live vm_area_structs that validate compares
 * with the tree. The shim including this names the functions that really
 * allocate with MFV_RAW_VM_AREA(name) (the test header's stubs on 6.12,
 * mm/vma_init.c's own on 7.1).
 */
#ifndef MFV_ALLOC_H
#define MFV_ALLOC_H

static struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	if (mfv_point(MFV_POINT_VMA_ALLOC))
		return NULL;
	vma = MFV_RAW_VM_AREA(vm_area_alloc)(mm);
	if (vma)
		mfv_p->live_vmas++;
	return vma;
}

static struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *vma;

	if (mfv_point(MFV_POINT_VMA_ALLOC))
		return NULL;
	vma = MFV_RAW_VM_AREA(vm_area_dup)(orig);
	if (vma)
		mfv_p->live_vmas++;
	return vma;
}

static void vm_area_free(struct vm_area_struct *vma)
{
	mfv_p->live_vmas--;
	MFV_RAW_VM_AREA(vm_area_free)(vma);
}

#endif
